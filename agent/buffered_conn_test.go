package agent

import (
	"bufio"
	"io"
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

// TestBufferedConnWritesTCPRaw: a TCP connection's writes (every packet the agent
// sends) are raw calls (internal/rawio), which do not wake the runtime's sysmon; any
// other connection is written as it is. The bytes arrive either way.
func TestBufferedConnWritesTCPRaw(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if w := newBufferedConn(a).w; w != nil {
		t.Errorf("a pipe: written through %T, want its own Write", w)
	}
	client, server := tcpPair(t)
	bc := newBufferedConn(server)
	if bc.w == nil {
		t.Fatal("a TCP connection: written through its own Write, want internal/rawio's writer")
	}
	if _, err := bc.Write([]byte("SSH-2.0-x\r\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 11)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "SSH-2.0-x\r\n" {
		t.Fatalf("the client read %q, %v", got, err)
	}
}
