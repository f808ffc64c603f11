package web

import (
	"bytes"
	"sync"

	"jobsshd/internal/coalesce"
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
	// what waitFrame's read brought, in wait.
	pending []byte
	wait    [waitReadSize]byte
}

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
	return w
}

func (c *frameWaitConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		if c.pending = c.pending[n:]; len(c.pending) == 0 {
			c.pending = nil
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
	if n, _ := c.Conn.Read(c.wait[:]); n > 0 {
		c.pending = c.wait[:n]
	}
}
