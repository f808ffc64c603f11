package web

import (
	"net"
	"sync"
	"time"
)

// splitWriteSize is the size of the first piece of every large SSH packet: x/crypto/ssh
// writes a packet through a 4 KiB bufio.Writer (ssh/transport.go, bufio.NewWriter), as
// its 4-byte length and then the rest; the rest overflows the buffer, which is written
// full (4096 bytes) and the remainder goes straight after it in a write of its own. On
// /ssh each write is a WebSocket message, so a download was two messages per 32 KiB
// packet: two frames for the agent to write, and for `jobsshd proxy` two frame reads and
// two writes to ssh's pipe (an strace of a 512 MiB get: 52,800 reads, 36,400 writes).
const splitWriteSize = 4096

// joinWait bounds how long a held piece waits for the rest of its packet. The rest comes
// within the same x/crypto call, microseconds later; the wait only ends a write of
// exactly splitWriteSize that was a whole packet (a buffer filled to the byte and then
// flushed), which is rare and then late by this much at most.
const joinWait = 2 * time.Millisecond

// joinBufferSize holds the held piece and the rest of a packet: x/crypto's packets are
// at most 32 KiB of payload plus header, padding and MAC (its maxPacket is 256 KiB, but
// the larger rare ones are sent as two messages, as before).
const joinBufferSize = 64 << 10

var joinBuffers = sync.Pool{New: func() any { b := make([]byte, 0, joinBufferSize); return &b }}

// packetJoinConn sends an SSH packet that x/crypto wrote in two pieces as one message:
// a write of exactly splitWriteSize is held (copied into a pooled buffer) and sent
// together with the next write, or alone once joinWait has passed without one. An
// error of a write sent by the timer is returned by the next Write or Close. Between
// packets it holds no buffer.
type packetJoinConn struct {
	net.Conn // each Write is one message

	mu      sync.Mutex
	held    *[]byte // from joinBuffers while a piece is held
	timer   *time.Timer
	lateErr error // of a write the timer made
}

func (c *packetJoinConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lateErr != nil {
		return 0, c.lateErr
	}
	if c.held == nil {
		if len(p) != splitWriteSize {
			return c.Conn.Write(p)
		}
		c.held = joinBuffers.Get().(*[]byte)
		*c.held = append((*c.held)[:0], p...)
		c.armTimer()
		return len(p), nil
	}
	c.timer.Stop()
	if len(*c.held)+len(p) > joinBufferSize {
		if err := c.sendHeld(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	*c.held = append(*c.held, p...)
	if err := c.sendHeld(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// armTimer starts (or restarts) the wait for the rest of the held piece; c.mu is held.
func (c *packetJoinConn) armTimer() {
	if c.timer == nil {
		c.timer = time.AfterFunc(joinWait, c.flushLate)
		return
	}
	c.timer.Reset(joinWait)
}

// flushLate sends a held piece whose rest did not come.
func (c *packetJoinConn) flushLate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held != nil && c.lateErr == nil {
		c.lateErr = c.sendHeld()
	}
}

// sendHeld writes the held bytes as one message and returns the buffer; c.mu is held.
func (c *packetJoinConn) sendHeld() error {
	_, err := c.Conn.Write(*c.held)
	joinBuffers.Put(c.held)
	c.held = nil
	return err
}

// Close sends a held piece first, so that nothing written is dropped.
func (c *packetJoinConn) Close() error {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.held != nil && c.lateErr == nil {
		_ = c.sendHeld() // the connection is ending; Close reports its own error
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
