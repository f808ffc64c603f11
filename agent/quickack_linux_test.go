package agent

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
)

// countingRawConn counts the setsockopt calls quickAckConn makes (each one is a Control
// call) and runs them on the real socket, or fails them all with fail.
type countingRawConn struct {
	syscall.RawConn
	controls atomic.Int32
	fail     error
}

func (r *countingRawConn) Control(f func(fd uintptr)) error {
	r.controls.Add(1)
	if r.fail != nil {
		return r.fail
	}
	return r.RawConn.Control(f)
}

// tcpPair returns both ends of a TCP connection on loopback.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// quickAckOn wraps server as serveConn does and counts the wrapper's setsockopt calls.
func quickAckOn(t *testing.T, server net.Conn, fail error) (*quickAckConn, *countingRawConn, func()) {
	t.Helper()
	c, stop := withQuickAck(server)
	q, ok := c.(*quickAckConn)
	if !ok {
		t.Fatalf("withQuickAck(%T) returned %T, want *quickAckConn", server, c)
	}
	counting := &countingRawConn{RawConn: q.raw, fail: fail}
	q.raw = counting
	return q, counting, stop
}

// sendAndRead writes one byte on client and reads it from q.
func sendAndRead(t *testing.T, client net.Conn, q net.Conn) {
	t.Helper()
	if _, err := client.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(q, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestQuickAckRearmsAfterEveryReadUntilStopped(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	q, counting, stop := quickAckOn(t, server, nil)
	for i := 1; i <= 3; i++ {
		sendAndRead(t, client, q)
		if got := counting.controls.Load(); got != int32(i) {
			t.Fatalf("after read %d: got %d TCP_QUICKACK calls, want %d (the kernel clears the flag, so every read sets it again)", i, got, i)
		}
	}
	stop()
	sendAndRead(t, client, q)
	if got := counting.controls.Load(); got != 3 {
		t.Fatalf("after the login: got %d TCP_QUICKACK calls, want still 3 (the data path is left alone)", got)
	}
}

func TestQuickAckSetsTheOptionOnATCPSocket(t *testing.T) {
	t.Parallel()
	_, server := tcpPair(t)
	q, _, _ := quickAckOn(t, server, nil)
	if err := q.quickAck(); err != nil {
		t.Fatalf("setsockopt TCP_QUICKACK on an accepted TCP connection: %v", err)
	}
}

func TestQuickAckNotOnEndOfFile(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	q, counting, _ := quickAckOn(t, server, nil)
	client.Close()
	if n, err := q.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read after the client closed: got %d, %v; want 0, EOF", n, err)
	}
	if got := counting.controls.Load(); got != 0 {
		t.Fatalf("got %d TCP_QUICKACK calls for a read of nothing, want 0", got)
	}
}

func TestQuickAckDisarmsWhenTheSocketRefuses(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	q, counting, _ := quickAckOn(t, server, errors.New("refused"))
	sendAndRead(t, client, q) // the read itself succeeds
	sendAndRead(t, client, q)
	if got := counting.controls.Load(); got != 1 {
		t.Fatalf("got %d TCP_QUICKACK calls, want 1: a socket that refused once is not asked again", got)
	}
}

func TestQuickAckLeavesOtherConnectionsAlone(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe() // stands for /ssh's WebSocket connection: no TCP socket of its own
	t.Cleanup(func() { a.Close(); b.Close() })
	c, stop := withQuickAck(a)
	if c != a {
		t.Fatalf("withQuickAck(%T) returned %T, want the connection itself", a, c)
	}
	stop() // must not panic
}
