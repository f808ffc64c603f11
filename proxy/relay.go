package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"jobsshd/internal/coalesce"
	"jobsshd/internal/rawio"
)

// copyBufferSize is the size of each WebSocket message the proxy sends: large enough
// for bulk transfers to cost few frames, small enough to bound memory per connection.
const copyBufferSize = coalesce.MaxMessage

// pipe copies both ways between a and b until either side ends, then closes both:
// WebSocket has no half-close, and for SSH the end of either direction is the end of
// the connection.
func pipe(a, b io.ReadWriteCloser) error {
	errc := make(chan error, 2)
	cp := func(dst io.Writer, src io.Reader) {
		// Plain Reader and Writer, so that io.CopyBuffer uses this buffer: *os.File's
		// WriteTo would copy through 32 KiB and so halve the messages.
		_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, copyBufferSize))
		errc <- err
	}
	go cp(a, b)
	go cp(b, a)
	err := <-errc
	_ = a.Close() // ends the other copy
	_ = b.Close()
	<-errc
	return err
}

// stdio joins stdin and stdout into one io.ReadWriteCloser. Closing it closes what of
// them is closable: the duplicate descriptors internal/rawio.Stdio made of pipes (so
// that a copy waiting on one of them ends), never the process's own stdin and stdout.
type stdio struct {
	io.Reader
	io.Writer
}

func (s stdio) Close() error {
	rawio.CloseStdio(s.Reader, s.Writer) // duplicates: nothing to report
	return nil
}

// Stdio carries one SSH connection between stdin/stdout and the WebSocket (an OpenSSH
// ProxyCommand). It returns when either side has ended.
func Stdio(ctx context.Context, o Options, stdin io.Reader, stdout io.Writer) error {
	ws, err := Dial(ctx, o)
	if err != nil {
		return err
	}
	growStdioPipes(stdin, stdout)              // pipe_size_linux.go
	stdin, stdout = rawio.Stdio(stdin, stdout) // pollable, raw (internal/rawio)
	if err := pipe(ws, stdio{stdin, stdout}); err != nil && !isClosed(err) {
		return fmt.Errorf("relay: %w", err)
	}
	return nil
}

// Listen relays every TCP connection accepted on ln to a WebSocket of its own, until
// ctx is done. Failures of one connection are logged and end only that connection.
func Listen(ctx context.Context, o Options, ln net.Listener, log *slog.Logger) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		wg.Go(func() {
			defer c.Close()
			ws, err := Dial(ctx, o)
			if err != nil {
				log.Error("connection from " + c.RemoteAddr().String() + " not relayed: " + err.Error())
				return
			}
			log.Info("relaying", "from", c.RemoteAddr().String())
			if err := pipe(ws, c); err != nil && !isClosed(err) {
				log.Warn("relay ended", "from", c.RemoteAddr().String(), "err", err)
			}
		})
	}
}

// isClosed reports whether err is just the other side having gone: among them EPIPE,
// a write to stdout after ssh has closed its end (with ordinary writes to descriptor 1
// the runtime ended the process by SIGPIPE there; stdout is now a duplicate descriptor,
// internal/rawio.Stdio).
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.EPIPE)
}
