package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// messageConn is the WebSocket of an /ssh connection as the net.Conn the SSH server
// reads and writes: each Write is one binary message, and Read returns the bytes of
// the binary messages in order. It stands in for websocket.NetConn, which keeps two
// timers and two contexts per connection and registers a context callback for every
// Read and Write it makes (about 1.5 KiB more per idle connection, and allocations on
// every call of a transfer). Here the library's calls get context.Background(), which
// it neither watches nor times, and deadlines are set on the TCP connection under the
// WebSocket: a read or write that runs into one fails, the WebSocket is then unusable,
// and the SSH server closes the connection, as NetConn's deadlines would have it.
type messageConn struct {
	ws     *websocket.Conn
	tcp    net.Conn       // under ws
	under  *frameWaitConn // what ws reads tcp through
	frames *bufio.Reader  // ws's reader over under

	readMu  sync.Mutex
	msg     io.Reader // the message being read; nil between messages
	readErr error     // once set, every Read returns it

	// closeMu orders Close against Read's look at frames: once closing is set, the
	// library's close handshake may be reading frames on Close's goroutine.
	closeMu sync.Mutex
	closing bool
}

// newMessageConn takes over ws, which must have been accepted through hj.
func newMessageConn(ws *websocket.Conn, hj *coalescingHijacker) *messageConn {
	ws.SetReadLimit(-1) // a message is streamed into SSH, never held whole
	return &messageConn{ws: ws, tcp: hj.tcp, under: hj.under, frames: hj.frames}
}

// awaitFrame waits between messages for the peer's next frame outside the library
// (frame_wait.go), unless a frame has been read ahead into the library's reader
// already or Close has begun (the library then reads the peer's close frame itself).
func (c *messageConn) awaitFrame() {
	c.closeMu.Lock()
	wait := !c.closing && c.frames.Buffered() == 0
	c.closeMu.Unlock()
	if wait {
		c.under.waitFrame()
	}
}

// errTextOnSSH is what Read returns for a text message, after closing the socket with
// StatusUnsupportedData.
var errTextOnSSH = errors.New("a text message on /ssh: SSH travels in binary messages")

func (c *messageConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for c.readErr == nil {
		if c.msg == nil {
			c.awaitFrame()
			typ, r, err := c.ws.Reader(context.Background())
			if err != nil {
				switch websocket.CloseStatus(err) {
				case websocket.StatusNormalClosure, websocket.StatusGoingAway:
					err = io.EOF
				}
				c.readErr = err
				break
			}
			if typ != websocket.MessageBinary {
				_ = c.ws.Close(websocket.StatusUnsupportedData, errTextOnSSH.Error()) // the peer may be gone
				c.readErr = errTextOnSSH
				break
			}
			c.msg = r
		}
		n, err := c.msg.Read(p)
		if err == io.EOF { // the end of this message, not of the connection
			c.msg, err = nil, nil
		}
		if err != nil {
			c.readErr = err
		}
		if n > 0 || err != nil || len(p) == 0 {
			return n, err
		}
	}
	return 0, c.readErr
}

func (c *messageConn) Write(p []byte) (int, error) {
	if err := c.ws.Write(context.Background(), websocket.MessageBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close starts the WebSocket close handshake (and waits for it, at most the library's
// 5 seconds; sshConn.Close bounds that further).
func (c *messageConn) Close() error {
	c.closeMu.Lock()
	c.closing = true
	c.closeMu.Unlock()
	return c.ws.Close(websocket.StatusNormalClosure, "")
}

func (c *messageConn) LocalAddr() net.Addr                { return c.tcp.LocalAddr() }
func (c *messageConn) RemoteAddr() net.Addr               { return c.tcp.RemoteAddr() }
func (c *messageConn) SetDeadline(t time.Time) error      { return c.tcp.SetDeadline(t) }
func (c *messageConn) SetReadDeadline(t time.Time) error  { return c.tcp.SetReadDeadline(t) }
func (c *messageConn) SetWriteDeadline(t time.Time) error { return c.tcp.SetWriteDeadline(t) }
