package web

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// busyTerminal is an echoTerminal whose shell takes no input until release is closed:
// a program that does not read its terminal while the page pastes into it.
type busyTerminal struct {
	*echoTerminal
	release chan struct{}
}

func (b *busyTerminal) Write(p []byte) (int, error) {
	<-b.release
	return b.echoTerminal.Write(p)
}

type busyTerminals struct{ term *busyTerminal }

func (b *busyTerminals) StartTerminal(TerminalRequest) (Terminal, error) { return b.term, nil }

// TestKeepAliveWhileInputWaits: while the shell does not take the page's input, the
// agent cannot read the page's pongs (the socket's reader is the one waiting), so its
// pings fail; the socket must stay open, and carry the input once the shell reads.
func TestKeepAliveWhileInputWaits(t *testing.T) {
	t.Parallel()
	term := &busyTerminal{echoTerminal: newEchoTerminal(), release: make(chan struct{})}
	s, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{accepting: true}, Token: testToken, Terminals: &busyTerminals{term}})
	if err != nil {
		t.Fatal(err)
	}
	// A ping every 20 ms; 100 ms for its answer, so that a loaded machine (a race build
	// beside other tests) does not miss an answer the page did send.
	const every, timeout = 20 * time.Millisecond, 100 * time.Millisecond
	s.terminals.pingEvery, s.terminals.pingTimeout = every, timeout
	hs := httptest.NewServer(s.http.Handler)
	t.Cleanup(hs.Close)
	c, _ := dialTestTerminal(t, &testServer{Server: s, url: hs.URL}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte("\x00pasted")); err != nil {
		t.Fatal(err)
	}
	type message struct {
		typ websocket.MessageType
		p   []byte
		err error
	}
	got := make(chan message, 1)
	go func() { // the page reads all along, so it answers every ping
		for {
			typ, p, err := c.Read(ctx)
			got <- message{typ, p, err}
			if err != nil {
				return
			}
		}
	}()
	select {
	case m := <-got:
		t.Fatalf("while the shell took no input: %v %q %v, want the socket to wait", m.typ, m.p, m.err)
	case <-time.After(20 * (every + timeout)): // 20 pings that could not be answered
	}
	close(term.release)
	select {
	case m := <-got:
		if m.err != nil || m.typ != websocket.MessageBinary || string(m.p) != "pasted" {
			t.Fatalf("once the shell read: %v %q %v, want the echo of the input", m.typ, m.p, m.err)
		}
	case <-ctx.Done():
		t.Fatal("no echo once the shell read its input")
	}
}
