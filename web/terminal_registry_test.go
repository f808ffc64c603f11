package web

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// idleTerminal is a shell that prints nothing until it is hung up.
type idleTerminal struct {
	once sync.Once
	done chan struct{}
}

func newIdleTerminal() *idleTerminal { return &idleTerminal{done: make(chan struct{})} }

func (f *idleTerminal) Read([]byte) (int, error) {
	<-f.done
	return 0, io.EOF
}
func (f *idleTerminal) Write(p []byte) (int, error)    { return len(p), nil }
func (f *idleTerminal) Resize(cols, rows uint16) error { return nil }
func (f *idleTerminal) HangUp()                        { f.once.Do(func() { close(f.done) }) }
func (f *idleTerminal) Done() <-chan struct{}          { return f.done }
func (f *idleTerminal) ExitStatus() (uint32, string)   { return 0, "HUP" }

// TestTerminalsBindSessionsToTheToken: a session id finds its shell only with the token
// the shell was started with; shutdown hangs every shell up.
func TestTerminalsBindSessionsToTheToken(t *testing.T) {
	t.Parallel()
	var started []*idleTerminal
	ts := newTerminals(func(TerminalRequest) (Terminal, error) {
		f := newIdleTerminal()
		started = append(started, f)
		return f, nil
	}, time.Minute, slog.New(slog.DiscardHandler))
	owner, other := [32]byte{1}, [32]byte{2}
	s, err := ts.open(owner, TerminalRequest{Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.id) != sessionIDLength {
		t.Errorf("session id %q: got %d characters, want %d", s.id, len(s.id), sessionIDLength)
	}
	if ts.find(s.id, owner) != s {
		t.Error("the session is not found with its own token")
	}
	if ts.find(s.id, other) != nil {
		t.Error("the session is found with another token")
	}
	s2, err := ts.open(owner, TerminalRequest{Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	if s2.id == s.id {
		t.Error("two shells got the same session id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for i, f := range started {
		select {
		case <-f.done:
		default:
			t.Errorf("shell %d was not hung up at shutdown", i)
		}
	}
	if _, err := ts.open(owner, TerminalRequest{Cols: 80, Rows: 24}); err == nil {
		t.Error("a shell started after shutdown")
	}
}
