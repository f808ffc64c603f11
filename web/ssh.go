package web

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"jobsshd/internal/coalesce"
	"jobsshd/internal/rawio"
)

// handleSSH carries one SSH connection in the binary messages of a WebSocket to the
// agent's own SSH server (Agent.ServeConn), with the client's address (clientAddr) as
// its remote address. The WebSocket carries SSH; it does not replace SSH's
// authentication: the agent's host keys, keys, limits and audit log apply as to a
// connection on its port. Text messages close the socket (StatusUnsupportedData).
func (s *Server) handleSSH(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		s.refuseOrigin(w, r)
		return
	}
	// Counted before the upgrade, while http.Server.Shutdown still waits for this
	// request, so that Shutdown cannot miss the goroutine started below.
	s.sshConns.Add(1)
	hj := &coalescingHijacker{ResponseWriter: w}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		// Origin was checked above, against the same rules the library would apply
		// plus --web-allowed-origin.
		InsecureSkipVerify: true,
		// SSH traffic is encrypted and does not compress; compression would also cost
		// a window of memory per connection.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		s.sshConns.Done()
		return // Accept has answered the request with the reason
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	msgs := &coalesce.MessageConn{Conn: newMessageConn(ws, hj), TCP: hj.tcp} // ssh_message_conn.go
	joined := &packetJoinConn{Conn: msgs}                                    // one message per SSH packet (packet_join.go)
	c := &sshConn{Conn: joined, tcp: hj.tcp, remote: s.clientTCPAddr(r), local: tcpLocal(local), closed: make(chan struct{})}
	// The handler returns now, so that net/http lets go of what it holds for the
	// request (its connection's write buffer, the request and response, and a
	// goroutine stack grown through the upgrade): an idle /ssh connection then costs
	// about what an idle connection on the SSH port costs (1.04x, TestWebIdleMemory,
	// BENCHMARKS.md). The SSH
	// connection is served on a goroutine of its own, which Shutdown waits for.
	go func() {
		defer s.sshConns.Done()
		s.cfg.Agent.ServeConn(c)
		_ = c.Close() // ServeConn closed it already; this is for the wait below
		<-c.closed
	}()
}

// coalescingHijacker hands the WebSocket library the hijacked connection as a
// coalesce.Conn, so that each message the agent sends (an SSH packet) is one write
// instead of two, with small buffers of its own in place of net/http's 4 KiB ones: the
// library reads frame headers and control frames through the reader (payloads larger
// than it go straight to the caller's buffer) and writes frame headers and control
// frames through the writer (larger payloads go straight to coalesce.Conn, which
// gathers them anyway). That leaves about 8 KiB less per idle connection.
type coalescingHijacker struct {
	http.ResponseWriter
	tcp    *coalesce.Conn
	under  *frameWaitConn // the library reads tcp through it (frame_wait.go)
	frames *bufio.Reader  // the library's reader
}

// frameBufferSize holds a frame header (at most 14 bytes, RFC 6455 §5.2). A control
// frame's payload (up to 125 bytes, §5.5) then takes a second write, which is rare,
// while every idle connection keeps both buffers. The reader mostly takes what
// waitFrame read (frame_wait.go), so it needs no more.
const frameBufferSize = 16

func (h *coalescingHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // the 101 answer, if still buffered
		_ = c.Close() // the handshake cannot complete
		return nil, nil, err
	}
	// The socket's reads and writes are raw calls (internal/rawio): every frame of a
	// transfer passes here.
	h.tcp = &coalesce.Conn{Conn: rawio.NetConn(c)}
	// What net/http read past the request (frames a client sent without waiting for
	// the 101) is kept by under: the library reads under through a small reader.
	early, _ := brw.Reader.Peek(brw.Reader.Buffered()) // Buffered bytes: cannot fail
	h.under = newFrameWaitConn(h.tcp, early)
	h.frames = bufio.NewReaderSize(h.under, frameBufferSize)
	return h.under, bufio.NewReadWriter(h.frames, bufio.NewWriterSize(h.tcp, frameBufferSize)), nil
}

// sshConn is a WebSocket as the net.Conn the SSH server serves, with the addresses the
// SSH layer should see: --allow-cidr, from= and SSH_CONNECTION read RemoteAddr.
type sshConn struct {
	net.Conn
	tcp           net.Conn // under the WebSocket, to cut a close handshake short
	remote, local net.Addr

	closeOnce sync.Once
	closed    chan struct{} // closed once the WebSocket is
}

// closeHandshakeWait bounds the WebSocket close handshake: a peer that does not answer
// the close frame is cut off then.
const closeHandshakeWait = 2 * time.Second

// Close starts the WebSocket's close handshake and returns at once: the agent closes
// connections while it holds its lock (Server.Shutdown, the memory guard), and a peer
// that never answers must not hold it there for the library's 5 seconds each.
// handleSSH waits for the handshake, bounded by closeHandshakeWait.
func (c *sshConn) Close() error {
	c.closeOnce.Do(func() {
		go func() {
			defer close(c.closed)
			// Closing the TCP connection ends the library's wait for the peer's close
			// frame (its CloseNow would wait for that Close instead).
			cut := time.AfterFunc(closeHandshakeWait, func() { _ = c.tcp.Close() })
			defer cut.Stop()
			_ = c.Conn.Close() // the peer may be gone
		}()
	})
	return nil
}

// ReadsAhead tells the agent that the connection reads ahead itself, holding a buffer
// only while a message is being read (read_ahead.go): the agent then puts none of its
// own in front of it (agent/buffered_conn.go).
func (c *sshConn) ReadsAhead() bool { return true }

func (c *sshConn) RemoteAddr() net.Addr { return c.remote }
func (c *sshConn) LocalAddr() net.Addr  { return c.local }

// tcpLocal is the web listener's address for SSH_CONNECTION's server half; a unix
// socket has none, and is reported as 0.0.0.0 port 0.
func tcpLocal(a net.Addr) net.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t
	}
	return &net.TCPAddr{IP: net.IPv4zero}
}
