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
	readErr error     // once set, every Read returns it, after the bytes in ahead
	ahead   []byte    // read from msg and not yet by the caller; in aheadBuf
	// aheadBuf is borrowed from readAheadBuffers while ahead holds bytes.
	aheadBuf *[]byte

	// closeMu orders Close against Read's look at frames: once closing is set, the
	// library's close handshake may be reading frames on Close's goroutine.
	closeMu sync.Mutex
	closing bool

	// onWait, when set (by tests), is called as Read starts waiting for a frame, with
	// whether a read-ahead buffer is borrowed then.
	onWait func(holding bool)
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
	if c.onWait != nil {
		c.onWait(c.aheadBuf != nil)
	}
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

// Read returns the bytes of the binary messages in order. Reads smaller than
// readAheadSize (x/crypto reads 4 KiB at a time) are served from a buffer filled with
// one read of the current message (read_ahead.go); between messages it holds none.
func (c *messageConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		switch {
		case len(c.ahead) > 0:
			return c.readAhead(p), nil
		case c.readErr != nil:
			return 0, c.readErr
		case len(p) == 0:
			return 0, nil
		case c.msg == nil:
			c.awaitFrame() // with no buffer borrowed
			if err := c.nextMessage(); err != nil {
				return 0, err
			}
		case len(p) >= readAheadSize:
			if n, err := c.readMessage(p); n > 0 || err != nil {
				return n, err
			}
		default:
			// An error that comes with bytes is kept in readErr and returned once they
			// are read.
			c.fillAhead()
		}
	}
}

// nextMessage starts reading the peer's next message; an error is kept in readErr.
func (c *messageConn) nextMessage() error {
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway:
			err = io.EOF
		}
		c.readErr = err
		return err
	}
	if typ != websocket.MessageBinary {
		_ = c.ws.Close(websocket.StatusUnsupportedData, errTextOnSSH.Error()) // the peer may be gone
		c.readErr = errTextOnSSH
		return c.readErr
	}
	c.msg = r
	return nil
}

// readMessage reads from the current message. Its end (the library's io.EOF) is not
// the connection's: c.msg becomes nil. An error is kept in readErr.
func (c *messageConn) readMessage(p []byte) (int, error) {
	n, err := c.msg.Read(p)
	if err == io.EOF {
		c.msg, err = nil, nil
	}
	if err != nil {
		c.readErr = err
	}
	return n, err
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
