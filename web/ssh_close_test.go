package web

import (
	"io"
	"testing"
	"time"
)

// TestSSHCloseDoesNotWaitForThePeer: when the agent closes a /ssh connection whose
// peer never answers the WebSocket close frame, Close returns at once (the agent holds
// its lock while closing) and the socket is cut after closeHandshakeWait.
func TestSSHCloseDoesNotWaitForThePeer(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.agent.echo = false
	ts.agent.closeTook = make(chan time.Duration, 1)
	c, br := upgradeRaw(t, ts)
	select {
	case took := <-ts.agent.closeTook:
		if took > 200*time.Millisecond {
			t.Errorf("Close took %v with a peer that does not answer, want it to return at once", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the agent's Close did not return within 5 s")
	}
	// Read (the close frame) without answering it, until the server cuts the socket.
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(closeHandshakeWait + 5*time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("the socket was not cut within %v of the close frame: %v", closeHandshakeWait+5*time.Second, err)
	}
	if d := time.Since(start); d > closeHandshakeWait+2*time.Second {
		t.Errorf("cut after %v, want about %v", d, closeHandshakeWait)
	}
}
