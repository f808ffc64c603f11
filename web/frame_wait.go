package web

import (
	"bytes"
	"sync"
	"sync/atomic"
	"syscall"

	"jobsshd/internal/coalesce"
	"jobsshd/internal/rawio"
)

// frameWaitConn is the connection under an /ssh WebSocket's frame reader. Between
// messages, messageConn waits here for the peer's next frame with a plain read
// (waitFrame) and enters the library's reader only once its first bytes have come.
// An idle connection's reading goroutine then sleeps about 1.4 KiB shallower than it
// would inside coder/websocket's reader (its Reader, readLoop and readFrameHeader
// frames), shallow enough for the runtime to shrink its stack to what a goroutine
// waiting on the SSH port has: 4 KiB, where the library's depth kept 8 KiB
// (runtime/stack.go shrinks a stack that uses less than a quarter of it).
// TestWebIdleMemory measures it.
type frameWaitConn struct {
	*coalesce.Conn

	// mu is held by waitFrame while it waits, so that a Read by the library (its close
	// handshake, started by Close on another goroutine) waits for those bytes and gets
	// them first, and the frame stays whole.
	mu sync.Mutex
	// pending was read from the connection and not yet by the library: the frames a
	// client sent with its upgrade request (read by net/http past the request), or
	// what waitFrame's read brought, in waitBuf.
	pending []byte
	// waitBuf is borrowed from waitBuffers while pending holds what waitFrame read.
	waitBuf *[]byte
	// raw is the socket under the connection, for waitFrame to wait on without a
	// buffer; nil for a connection that is not a plain socket (TLS: its bytes must go
	// through tls.Conn), or one that rawio does not read raw (a unix socket).
	raw syscall.RawConn
	// borrowed counts the buffers taken from waitBuffers and not given back (0 or 1),
	// for tests.
	borrowed atomic.Int32
}

// waitBuffers lends waitFrame its read buffer, from the moment the socket has bytes
// until the library has taken them: an idle connection holds none (it held 256 bytes
// each, 320 with the allocator's rounding, before).
var waitBuffers = sync.Pool{New: func() any { b := make([]byte, waitReadSize); return &b }}

// waitReadSize is what waitFrame reads at most: a small message whole (an SFTP read
// request in its SSH packet and frame is under 100 bytes, and a download brings one
// per 32 KiB), so that it costs the one read(2) it cost in the library's own 256-byte
// reader, not a second one for what follows its first byte.
const waitReadSize = 256

// newFrameWaitConn reads c, starting with early, the bytes net/http read past the
// upgrade request.
func newFrameWaitConn(c *coalesce.Conn, early []byte) *frameWaitConn {
	w := &frameWaitConn{Conn: c}
	if len(early) > 0 {
		w.pending = bytes.Clone(early)
	}
	if sc, ok := c.Conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			// Only a socket a raw read cannot wait on: not a unix socket (--web
			// unix:PATH), whose peer can make a read wait (rawio.Usable).
			w.raw, _ = rawio.Usable(raw)
		}
	}
	return w
}

func (c *frameWaitConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		if c.pending = c.pending[n:]; len(c.pending) == 0 {
			c.pending = nil
			if c.waitBuf != nil {
				c.giveBack(c.waitBuf)
				c.waitBuf = nil
			}
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// waitFrame returns once bytes from the peer are held for Read, or the connection
// failed (closed, reset, past its read deadline). It does not report the failure:
// the library's next read meets it again and handles it as it always does.
func (c *frameWaitConn) waitFrame() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		return
	}
	if c.raw == nil {
		c.keep(c.Conn.Read) // blocks holding the buffer
		return
	}
	// RawConn.Read calls the function when the socket may be readable, and again after
	// each wake-up of the poller while it returns false (net's fd_posix.go RawRead: the
	// read, EAGAIN, wait sequence of net.Conn.Read, deadlines included), so the buffer
	// is borrowed only for a read(2) that finds bytes, as agent/socket_read_ahead_linux.go
	// does for the SSH port. An error other than EAGAIN is left to the library's next
	// read, which meets it again.
	_ = c.raw.Read(func(fd uintptr) bool {
		again := false
		c.keep(func(b []byte) (int, error) {
			n, errno := rawio.ReadFD(fd, b) // outside the runtime's syscall bookkeeping (rawio)
			again = errno == syscall.EAGAIN
			if errno != 0 {
				return 0, errno
			}
			return n, nil
		})
		return !again
	})
}

// keep makes one read into a borrowed buffer, and keeps the buffer as pending if the
// read brought bytes; otherwise it gives it back at once.
func (c *frameWaitConn) keep(read func([]byte) (int, error)) {
	c.borrowed.Add(1)
	buf := waitBuffers.Get().(*[]byte)
	if n, _ := read(*buf); n > 0 {
		c.pending, c.waitBuf = (*buf)[:n], buf
		return
	}
	c.giveBack(buf)
}

func (c *frameWaitConn) giveBack(buf *[]byte) {
	waitBuffers.Put(buf)
	c.borrowed.Add(-1)
}
