package agent

import (
	"net"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// quickAckConn acknowledges every segment the client sends at once, while it is armed:
// during the key exchange and authentication.
//
// A login is a dozen small packets in lock step, and OpenSSH's client leaves Nagle's
// algorithm on for sessions without a terminal (it sets TCP_NODELAY only for interactive
// ones): it holds a small packet back until its previous one is acknowledged. Linux
// delays the ACK of a segment that is not answered at once by up to 40 ms (the delayed
// ACK timer), and twice in a login the agent has nothing to answer with: after the
// client's KEXINIT (the client's next packet, its key exchange init, waits for that
// ACK) and after its NEWKEYS (its service request waits). Those two waits were about
// two thirds of `ssh host true` (BENCHMARKS.md, "logins and start-up").
//
// Setting TCP_QUICKACK after a read sends the ACK the kernel is holding at once and
// leaves delayed-ACK mode, but the kernel clears the flag again by itself (tcp(7):
// "not permanent ... subsequent operation of the TCP protocol will once again
// enter/leave quickack mode"; net/ipv4/tcp.c __tcp_sock_set_quickack), so it is set
// again after every read. One setsockopt per read is nothing beside a login's
// signatures, but it would be one more system call per read on the data path, and
// ACKing every segment there makes more packets for nothing: the wrapper is disarmed
// once the login is done.
type quickAckConn struct {
	net.Conn
	raw   syscall.RawConn // the socket TCP_QUICKACK is set on
	armed atomic.Bool     // cleared by the stop function, or when the socket refused
}

// withQuickAck arms quick ACKs on c when it is a TCP connection, and returns the
// connection to read from and the function that disarms them. Any other connection
// (a WebSocket on /ssh, whose peer is a Go program with Nagle off, net.TCPConn's
// default) is returned as it is, with a stop function that does nothing.
func withQuickAck(c net.Conn) (net.Conn, func()) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, func() {}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, func() {}
	}
	q := &quickAckConn{Conn: c, raw: raw}
	q.armed.Store(true)
	return q, func() { q.armed.Store(false) }
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.afterRead(n)
	return n, err
}

// afterRead sets TCP_QUICKACK again after a read of n bytes while the wrapper is armed:
// after Read, and after socketReadAhead's reads of the socket below it.
func (c *quickAckConn) afterRead(n int) {
	if n > 0 && c.armed.Load() && c.quickAck() != nil {
		// The socket is closing, or refuses the option: the login goes on at the
		// kernel's pace, as it would without this wrapper.
		c.armed.Store(false)
	}
}

// quickAck sets TCP_QUICKACK on the socket once.
func (c *quickAckConn) quickAck() error {
	var serr error
	if err := c.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	}); err != nil {
		return err
	}
	return serr
}
