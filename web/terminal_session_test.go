package web

import (
	"bytes"
	"testing"
)

// chattyTerminal prints out once, then nothing until it is hung up.
type chattyTerminal struct {
	*idleTerminal
	out *bytes.Reader
}

func (c *chattyTerminal) Read(p []byte) (int, error) {
	if c.out.Len() > 0 {
		return c.out.Read(p)
	}
	return c.idleTerminal.Read(p)
}

// TestAckOfOutputBeingWritten: the page may acknowledge output before the agent's
// write of it has returned (the bytes were on the wire): nextOutput counts them as sent
// when it hands them out, so such an ack is in bounds. Counting them after the write
// closed busy pages with "ack: offset outside what was sent" under load.
func TestAckOfOutputBeingWritten(t *testing.T) {
	t.Parallel()
	sh := &chattyTerminal{idleTerminal: newIdleTerminal(), out: bytes.NewReader(bytes.Repeat([]byte("x"), 3000))}
	s := newTermSession("id", [32]byte{}, sh)
	done := make(chan struct{})
	go func() { defer close(done); s.pump() }()
	defer func() { s.hangUp(); <-done }()
	sock := &socket{}
	s.attach(sock, 0)
	buf := make([]byte, readChunk)
	got := 0
	for got < 3000 {
		n, ended, err := s.nextOutput(sock, buf)
		if err != nil || ended {
			t.Fatalf("nextOutput: %d, %v, %v", n, ended, err)
		}
		got += n
		// The page acknowledges what it was handed, before any write returned.
		if err := s.ack(sock, int64(got)); err != nil {
			t.Fatalf("ack of %d bytes handed out: %v", got, err)
		}
	}
	if err := s.ack(sock, int64(got)+1); err == nil {
		t.Error("an ack beyond what was handed out was accepted")
	}
}
