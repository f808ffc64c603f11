package web

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"jobsshd/internal/loglimit"
)

// maxHTTPConnections bounds the connections the web server holds at once, idle,
// reading a request head or upgraded: each costs a goroutine and buffers, and a
// stranger could otherwise open them until memory or descriptors run out. Past it, a
// new connection is closed at once rather than left waiting in the accept queue, so
// that the server stays responsive as soon as others leave.
const maxHTTPConnections = 1024

// maxConnectionsPerSource bounds the connections one client address (an IPv6 /64, as
// for failures) holds at once, so that one stranger trickling request heads cannot
// take all maxHTTPConnections and shut everyone out, the readiness probe included.
// A --web-trusted-proxy peer and a unix socket's sidecar speak for many clients and
// are bounded by maxHTTPConnections only. A person's browser needs a handful.
const maxConnectionsPerSource = 256

// limitListener closes connections beyond max; a connection leaves the count when it
// is closed (an upgraded one when its WebSocket ends).
type limitListener struct {
	net.Listener
	max       int64
	perSource int                   // maxConnectionsPerSource; tests lower it
	exempt    func(netip.Addr) bool // peers bounded by max only (trusted proxies)
	open      atomic.Int64
	log       *slog.Logger
	refusals  *loglimit.Limiter // the server's, for web.refuse lines

	mu       sync.Mutex
	bySource map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		source, ok := l.takeSource(c.RemoteAddr())
		if ok && l.open.Add(1) <= l.max {
			return &countedConn{Conn: c, l: l, source: source}, nil
		}
		if ok {
			l.open.Add(-1)
			l.giveSource(source)
		}
		_ = c.Close() // over a bound: nothing to tell it that costs less
		l.refusals.Log(l.log, slog.LevelWarn, "web connection refused: too many connections", "event", "web.refuse", "max", l.max, "max_per_address", l.perSource)
	}
}

// takeSource counts a connection from a's source and reports whether it is within
// perSource; source is "" for a peer bounded by max only.
func (l *limitListener) takeSource(a net.Addr) (source string, ok bool) {
	tcp, isTCP := a.(*net.TCPAddr)
	if !isTCP || l.perSource <= 0 {
		return "", true // a unix socket's sidecar
	}
	ip := netipOf(tcp)
	if l.exempt != nil && l.exempt(ip) {
		return "", true
	}
	source = failureSource(ip.String())
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bySource[source] >= l.perSource {
		return "", false
	}
	if l.bySource == nil {
		l.bySource = map[string]int{}
	}
	l.bySource[source]++
	return source, true
}

func (l *limitListener) giveSource(source string) {
	if source == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bySource[source]--; l.bySource[source] <= 0 {
		delete(l.bySource, source)
	}
}

// countedConn gives its place back once, when closed.
type countedConn struct {
	net.Conn
	l      *limitListener
	source string
	once   sync.Once
}

// SyscallConn gives the socket of a plain TCP or unix connection, for an /ssh
// connection's wait for frames (frame_wait.go); other connections (TLS) have none.
func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, syscall.ENOTSOCK
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1); c.l.giveSource(c.source) })
	return c.Conn.Close()
}
