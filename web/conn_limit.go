package web

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// maxHTTPConnections bounds the connections the web server holds at once, idle,
// reading a request head or upgraded: each costs a goroutine and buffers, and a
// stranger could otherwise open them until memory or descriptors run out. Past it, a
// new connection is closed at once rather than left waiting in the accept queue, so
// that the server stays responsive as soon as others leave.
const maxHTTPConnections = 1024

// limitListener closes connections beyond max; a connection leaves the count when it
// is closed (an upgraded one when its WebSocket ends).
type limitListener struct {
	net.Listener
	max   int64
	open  atomic.Int64
	log   *slog.Logger
	mu    sync.Mutex
	extra time.Time // when "too many" was last logged
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &countedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		_ = c.Close() // over the bound: nothing to tell it that costs less
		l.mu.Lock()
		if time.Since(l.extra) > time.Second {
			l.extra = time.Now()
			l.log.Warn("web connection refused: too many connections", "event", "web.refuse", "max", l.max)
		}
		l.mu.Unlock()
	}
}

// countedConn gives its place back once, when closed.
type countedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}
