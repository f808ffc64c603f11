package agent

import (
	"net"
	"testing"
)

// readingAhead is a connection that says it reads ahead itself, as web's /ssh ones do.
type readingAhead struct{ net.Conn }

func (readingAhead) ReadsAhead() bool { return true }

// TestBufferedConnLeavesReadAheadToTheConnection: a connection that reads ahead itself
// gets no 64 KiB buffer in front of it, which it would keep while idle; others do.
func TestBufferedConnLeavesReadAheadToTheConnection(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := newBufferedConn(a).r.Size(); got != connReadBuffer {
		t.Errorf("a TCP-like connection: read buffer %d bytes, want %d", got, connReadBuffer)
	}
	if got := newBufferedConn(readingAhead{a}).r.Size(); got > 4096 {
		t.Errorf("a connection that reads ahead itself: read buffer %d bytes, want at most the 4 KiB x/crypto reads bypass it with", got)
	}
}
