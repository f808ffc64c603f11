package agent

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// waitWatchingRawConn reports how many read-ahead buffers r holds each time the read
// function finds nothing and the read is about to wait.
type waitWatchingRawConn struct {
	syscall.RawConn
	r     *socketReadAhead
	waits chan int
}

func (r *waitWatchingRawConn) Read(f func(fd uintptr) bool) error {
	return r.RawConn.Read(func(fd uintptr) bool {
		done := f(fd)
		if !done {
			r.waits <- r.r.lent
		}
		return done
	})
}

func socketReadAheadOn(t *testing.T, c net.Conn) *socketReadAhead {
	t.Helper()
	r, ok := newSocketReadAhead(c)
	if !ok {
		t.Fatalf("newSocketReadAhead(%T): not a socket", c)
	}
	return r
}

// TestSocketReadAheadHoldsABufferOnlyWhileBytesWait: the buffer is held from the read
// that fills it to the read that drains it, and not while the read waits for bytes.
func TestSocketReadAheadHoldsABufferOnlyWhileBytesWait(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	r := socketReadAheadOn(t, server)
	watch := &waitWatchingRawConn{RawConn: r.raw, r: r, waits: make(chan int, 1)}
	r.raw = watch

	got := make(chan []byte, 1)
	go func() {
		p := make([]byte, 4)
		n, err := r.Read(p)
		if err != nil {
			t.Errorf("read: %v", err)
		}
		got <- p[:n]
	}()
	if lent := <-watch.waits; lent != 0 {
		t.Fatalf("waiting for bytes with %d read-ahead buffers held, want 0: an idle connection holds none", lent)
	}
	if _, err := client.Write([]byte("SSH-2.0-x\r\n")); err != nil {
		t.Fatal(err)
	}
	if p := <-got; string(p) != "SSH-" {
		t.Fatalf("first read %q, want %q", p, "SSH-")
	}
	if !r.held() {
		t.Fatalf("7 bytes wait in the read-ahead, yet it holds no buffer")
	}
	rest := make([]byte, 64)
	if n, err := r.Read(rest); err != nil || string(rest[:n]) != "2.0-x\r\n" {
		t.Fatalf("second read: %q, %v", rest[:n], err)
	}
	if r.held() {
		t.Fatalf("the read-ahead is drained, yet its buffer is still held")
	}
}

// TestSocketReadAheadCarriesABulkTransfer: 1 MiB read 4 KiB at a time, as x/crypto
// reads, arrives whole and in order, then the end of the stream.
func TestSocketReadAheadCarriesABulkTransfer(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	bc := newBufferedConn(server)
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 7 / 5)
	}
	copy(want, "SSH-")
	go func() {
		_, _ = client.Write(want)
		client.Close()
	}()
	var got bytes.Buffer
	p := make([]byte, 4096)
	for {
		n, err := bc.Read(p)
		got.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("got %d bytes, not the %d sent", got.Len(), len(want))
	}
}

// TestSocketReadAheadKeepsDeadlines: the preamble's deadline still ends a read.
func TestSocketReadAheadKeepsDeadlines(t *testing.T) {
	t.Parallel()
	_, server := tcpPair(t)
	bc := newBufferedConn(server)
	_ = server.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := bc.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v, want a deadline error", err)
	}
}

// TestSocketReadAheadRearmsQuickAcks: reading below the quick-ACK wrapper still sets
// TCP_QUICKACK after every read of the login.
func TestSocketReadAheadRearmsQuickAcks(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	q, counting, stop := quickAckOn(t, server, nil)
	bc := newBufferedConn(q)
	if _, ok := bc.r.(*socketReadAhead); !ok {
		t.Fatalf("a quick-ACK TCP connection is read through %T, want *socketReadAhead", bc.r)
	}
	readOneByte(t, client, bc.r)
	if got := counting.controls.Load(); got != 1 {
		t.Fatalf("got %d TCP_QUICKACK calls after a read of the login, want 1", got)
	}
	stop()
	readOneByte(t, client, bc.r)
	if got := counting.controls.Load(); got != 1 {
		t.Fatalf("got %d TCP_QUICKACK calls after the login, want still 1", got)
	}
}

// readOneByte writes one byte on client and reads it from r.
func readOneByte(t *testing.T, client net.Conn, r io.Reader) {
	t.Helper()
	if _, err := client.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}
