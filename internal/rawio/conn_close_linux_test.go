package rawio

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// TestCloseEndsWaitingWrite: a Write that waits in the poller for a full socket (the
// peer reads nothing) holds the writer's lock; Close ends it with net.ErrClosed, and a
// Write after that fails at once rather than waiting for the lock. A Read waiting on
// the same connection at the same time ends too.
func TestCloseEndsWaitingWrite(t *testing.T) {
	a, _ := tcpPair(t)
	c := NetConn(a)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); _, err := c.Write(make([]byte, 64<<20)); errs <- err }()
	go func() { defer wg.Done(); _, err := c.Read(make([]byte, 10)); errs <- err }()
	time.Sleep(50 * time.Millisecond) // both wait by then, or have not started: either way they must end
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a Write waiting for a full socket and a Read waiting for bytes")
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write or Read of a closed connection: %v, want net.ErrClosed", err)
		}
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
}
