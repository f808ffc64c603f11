// Package coalesce sends each WebSocket message in one write to its TCP connection.
//
// coder/websocket writes a frame through a 4 KiB bufio.Writer: a client, which must
// mask what it sends (RFC 6455 §5.3), makes one write syscall per 4 KiB of a message
// (an strace of a 128 MiB upload through jobsshd proxy: 35,807 writes against 2,657
// reads), and a server one for the first 4 KiB and one for the rest. Conn gathers the
// writes made between Hold and Release, which MessageConn puts around each message,
// and makes them one. Writes outside Hold (a pong or a close frame written by the
// reading side while no message is being sent) go straight through, so nothing can be
// left waiting in the buffer; the buffer is borrowed from a pool only while a message
// is being written, so an idle connection holds none.
package coalesce

import (
	"net"
	"sync"
)

// MaxMessage is the largest message whose frame is gathered whole; a larger one is
// sent in pieces of about this size.
const MaxMessage = 64 << 10

const maxGathered = MaxMessage + 64 // a message of MaxMessage and its frame header

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, maxGathered); return &b }}

// Conn is a TCP (or TLS) connection whose writes between Hold and Release are sent
// together. Its methods are safe for concurrent use.
type Conn struct {
	net.Conn

	mu      sync.Mutex
	holding bool
	buf     *[]byte // from buffers while holding
}

// Hold starts gathering writes.
func (c *Conn) Hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// Release sends what was gathered and stops gathering.
func (c *Conn) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	if c.buf == nil {
		return nil
	}
	err := c.flush()
	buffers.Put(c.buf)
	c.buf = nil
	return err
}

// flush writes the gathered bytes; the caller holds mu.
func (c *Conn) flush() error {
	if len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holding {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = buffers.Get().(*[]byte)
	}
	if len(*c.buf)+len(p) > maxGathered {
		if err := c.flush(); err != nil {
			return 0, err
		}
		if len(p) > maxGathered {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// MessageConn is a WebSocket as a net.Conn (websocket.NetConn) whose every Write, one
// message, reaches TCP in one write of TCP.
type MessageConn struct {
	net.Conn       // the WebSocket
	TCP      *Conn // the connection the WebSocket writes to
}

func (c *MessageConn) Write(p []byte) (int, error) {
	c.TCP.Hold()
	n, err := c.Conn.Write(p)
	if rerr := c.TCP.Release(); err == nil && rerr != nil {
		return n, rerr
	}
	return n, err
}
