package agent

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"jobsshd/internal/rawio"
)

// readAheadBuffers lends the 64 KiB read-ahead of SSH-port connections: a connection
// holds one only while bytes it has read wait in it.
var readAheadBuffers = sync.Pool{New: func() any { b := make([]byte, connReadBuffer); return &b }}

func (r *socketReadAhead) borrow() *[]byte { r.lent++; return readAheadBuffers.Get().(*[]byte) }

func (r *socketReadAhead) giveBack(b *[]byte) { r.lent--; readAheadBuffers.Put(b) }

// socketReadAhead reads a TCP socket through a 64 KiB buffer it borrows from
// readAheadBuffers for each read and gives back once its bytes are drained, so an idle
// connection holds none: a kept buffer cost each idle connection about 20 KiB resident
// (BENCHMARKS.md, "idle /ssh connections").
//
// The wait for bytes must not hold the buffer either. A plain Read into a borrowed
// buffer would block with it; so the socket is read through syscall.RawConn.Read, whose
// function is called when the socket may be readable and again after each poller wake-up
// as long as it returns false (net's fd_posix.go RawRead, the same read, EAGAIN, wait,
// read sequence as net.Conn.Read): the buffer is borrowed for each read(2) and given back
// when that read finds nothing. The system calls are those of a bufio.Reader in front of
// the connection, one read(2) per up to 64 KiB.
type socketReadAhead struct {
	raw       syscall.RawConn
	afterRead func(n int) // nil, or what the connection below does after each read (quick ACKs)
	buf       *[]byte     // borrowed while ahead holds bytes
	ahead     []byte
	lent      int // buffers borrowed and not given back: 0 or 1, for tests
}

// socketReader is a connection socketReadAhead can read in place of the connection's own
// Read: it gives the socket and what to do after each read.
type socketReader interface {
	readSocket() (syscall.RawConn, func(n int), error)
}

// newSocketReadAhead returns a socketReadAhead for a TCP connection, or for quick-ACK
// wrapper around one (quickack_linux.go), and false for any other connection.
func newSocketReadAhead(c net.Conn) (*socketReadAhead, bool) {
	var sr socketReader
	switch c := c.(type) {
	case *net.TCPConn:
		sr = tcpSocket{c}
	case socketReader:
		sr = c
	default:
		return nil, false
	}
	raw, after, err := sr.readSocket()
	if err != nil {
		return nil, false
	}
	return &socketReadAhead{raw: raw, afterRead: after}, true
}

type tcpSocket struct{ *net.TCPConn }

func (c tcpSocket) readSocket() (syscall.RawConn, func(int), error) {
	raw, err := c.SyscallConn()
	return raw, nil, err
}

// readSocket lets socketReadAhead read the socket below the quick-ACK wrapper, and
// re-arm the quick ACKs after each read as the wrapper's Read does.
func (c *quickAckConn) readSocket() (syscall.RawConn, func(int), error) {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return nil, nil, syscall.ENOTSOCK
	}
	raw, err := tc.SyscallConn()
	return raw, c.afterRead, err
}

func (r *socketReadAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.ahead) == 0 {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.ahead)
	r.ahead = r.ahead[n:]
	if len(r.ahead) == 0 {
		r.giveBack(r.buf)
		r.buf, r.ahead = nil, nil
	}
	return n, nil
}

// fill reads what the socket has, up to 64 KiB, into a borrowed buffer, waiting for it
// without one.
func (r *socketReadAhead) fill() error {
	var (
		buf  *[]byte
		n    int
		rerr error
	)
	err := r.raw.Read(func(fd uintptr) bool {
		buf = r.borrow()
		var errno syscall.Errno
		n, errno = rawio.ReadFD(fd, *buf) // outside the runtime's syscall bookkeeping (rawio)
		switch errno {
		case 0:
		case syscall.EAGAIN:
			r.giveBack(buf) // nothing yet: wait without it
			buf = nil
			return false
		default:
			rerr = errno
		}
		return true
	})
	if r.afterRead != nil {
		r.afterRead(max(n, 0))
	}
	switch {
	case err != nil: // a deadline, or the connection closed while waiting
		return err
	case rerr != nil:
		r.giveBack(buf)
		return os.NewSyscallError("read", rerr)
	case n <= 0:
		r.giveBack(buf)
		return io.EOF
	}
	r.buf, r.ahead = buf, (*buf)[:n]
	return nil
}

// held reports whether a buffer is borrowed, for tests.
func (r *socketReadAhead) held() bool { return r.lent > 0 }
