package agent

import (
	"bufio"
	"net"
	"testing"
)

// readingAhead is a connection that says it reads ahead itself, as web's /ssh ones do.
type readingAhead struct{ net.Conn }

func (readingAhead) ReadsAhead() bool { return true }

// TestBufferedConnLeavesReadAheadToTheConnection: a connection that reads ahead itself
// gets no 64 KiB buffer in front of it, which it would keep while idle; a TCP one
// borrows its buffer (socket_read_ahead_linux.go), and others keep one.
func TestBufferedConnLeavesReadAheadToTheConnection(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if r, ok := newBufferedConn(a).r.(*bufio.Reader); !ok || r.Size() != connReadBuffer {
		t.Errorf("a pipe: read-ahead %T, want a %d-byte bufio.Reader", newBufferedConn(a).r, connReadBuffer)
	}
	if r := newBufferedConn(readingAhead{a}).r; r != (readingAhead{a}) {
		t.Errorf("a connection that reads ahead itself: read through %T, want the connection itself", r)
	}
	_, server := tcpPair(t)
	if r, ok := newBufferedConn(server).r.(*socketReadAhead); !ok || r.held() {
		t.Errorf("a TCP connection: read-ahead %T, want a *socketReadAhead holding no buffer", newBufferedConn(server).r)
	}
}
