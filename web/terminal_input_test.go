package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// deafTerminal is a shell whose program never reads its input until it is hung up,
// and which reports the resizes it gets.
type deafTerminal struct {
	*echoTerminal
	resized chan [2]uint16
}

func (d *deafTerminal) Write(p []byte) (int, error) {
	<-d.done
	return 0, io.ErrClosedPipe
}

func (d *deafTerminal) Resize(cols, rows uint16) error {
	select {
	case d.resized <- [2]uint16{cols, rows}:
	default:
	}
	return nil
}

type deafTerminals struct{ term *deafTerminal }

func (d *deafTerminals) StartTerminal(TerminalRequest) (Terminal, error) { return d.term, nil }

// TestTerminalInputNotReadByTheProgram: input the shell's program does not read waits in a
// bounded queue, so the page's resizes still arrive behind it; past maxPendingInput
// the socket is closed with closeInputNotRead instead of waiting forever.
func TestTerminalInputNotReadByTheProgram(t *testing.T) {
	t.Parallel()
	term := &deafTerminal{echoTerminal: newEchoTerminal(), resized: make(chan [2]uint16, 1)}
	s, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{accepting: true}, Token: testToken, Terminals: &deafTerminals{term}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.http.Handler)
	t.Cleanup(hs.Close)
	t.Cleanup(term.HangUp)
	c, _ := dialTestTerminal(t, &testServer{Server: s, url: hs.URL}, "")
	<-term.resized // the resize at attach
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	piece := append([]byte{msgData}, bytes.Repeat([]byte("x"), maxTerminalMessage-1)...)
	sent := 0
	for sent+len(piece)-1 <= maxPendingInput {
		if err := c.Write(ctx, websocket.MessageBinary, piece); err != nil {
			t.Fatalf("write input at %d bytes: %v", sent, err)
		}
		sent += len(piece) - 1
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte{msgResize, 0, 100, 0, 30}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-term.resized:
		if got != [2]uint16{100, 30} {
			t.Errorf("resize behind %d bytes of unread input: got %v, want [100 30]", sent, got)
		}
	case <-ctx.Done():
		t.Fatalf("the resize sent behind %d bytes of unread input never reached the shell", sent)
	}
	if err := c.Write(ctx, websocket.MessageBinary, piece); err != nil { // past the bound
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != closeInputNotRead {
		var ce websocket.CloseError
		errors.As(err, &ce)
		t.Fatalf("input past %d unread bytes: read %v (close %d %q), want close %d", maxPendingInput, err, got, ce.Reason, closeInputNotRead)
	}
}
