package agent

import (
	"errors"
	"io"
	"sync"

	"jobsshd/internal/rawio"
)

// Every byte a session or a forwarded connection moves goes through a copy loop with a
// buffer of its own. A loop starts with a small buffer and takes a large one (for large
// reads and writes: one 256 KiB write to the channel goes out as eight packets in a row,
// one write to a pipe or socket carries several packets' worth) once a read fills the
// small one, the sign of a bulk transfer. Both come from pools and go back when the
// loop ends: an `ssh host cmd` used to allocate 768 KiB of buffers for its three pipes
// and leave them to the collector; with pooled small buffers, 200 connections running
// one short command after another peaked at 84 MiB instead of 127 MiB (TestSoak,
// BENCHMARKS.md, issue 14).
const smallCopyBufferSize = 32 << 10

// copyPools holds the buffers of the copy loops of all connections. Its zero value is
// ready to use. A sync.Pool lets the collector drop what no loop has used for two
// cycles, so a burst of sessions does not pin its buffers afterwards.
type copyPools struct {
	small sync.Pool // *[]byte of smallCopyBufferSize
	large sync.Pool // *[]byte of copyBufferSize
}

// copyBuffer is one copy loop's buffer: get it with copyPools.buffer, read into bytes,
// report each read's size to filled, and release it when the loop ends.
type copyBuffer struct {
	pools *copyPools
	buf   *[]byte
	large bool
}

func (p *copyPools) buffer() *copyBuffer {
	b, _ := p.small.Get().(*[]byte)
	if b == nil {
		s := make([]byte, smallCopyBufferSize)
		b = &s
	}
	return &copyBuffer{pools: p, buf: b}
}

// bytes is the buffer to read into next.
func (b *copyBuffer) bytes() []byte { return *b.buf }

// filled takes a read of n bytes into bytes() that has been written on: a read that
// filled the small buffer swaps it for a large one.
func (b *copyBuffer) filled(n int) {
	if b.large || n < len(*b.buf) {
		return
	}
	large, _ := b.pools.large.Get().(*[]byte)
	if large == nil {
		l := make([]byte, copyBufferSize)
		large = &l
	}
	b.pools.small.Put(b.buf)
	b.buf, b.large = large, true
}

// release returns the buffer to its pool; the copyBuffer must not be used afterwards.
func (b *copyBuffer) release() {
	if b.large {
		b.pools.large.Put(b.buf)
	} else {
		b.pools.small.Put(b.buf)
	}
	b.buf = nil
}

// copyStream copies src to dst until src ends (nil) or either fails, and returns how
// many bytes it wrote. It does its own loop rather than io.CopyBuffer, which would hand
// the copy to *os.File's or *net.TCPConn's ReadFrom or WriteTo and their own 32 KiB
// buffers.
func (p *copyPools) copyStream(dst io.Writer, src io.Reader) (written int64, err error) {
	buf := p.buffer()
	defer buf.release()
	// A forward's socket and a terminal are read and written outside the runtime's
	// syscall bookkeeping (internal/rawio); a channel is left as it is, and so is a
	// program's pipe unless copyInput or copyOutput made it raw already (only this
	// binary's own programs: rawio.Usable says why).
	src, dst = rawio.Reader(src), rawio.Writer(dst)
	for {
		n, err := src.Read(buf.bytes())
		if n > 0 {
			w, werr := dst.Write(buf.bytes()[:n])
			written += int64(w)
			if werr != nil {
				return written, werr
			}
			buf.filled(n)
		}
		if errors.Is(err, io.EOF) {
			return written, nil
		}
		if err != nil {
			return written, err
		}
	}
}
