package integration

import (
	"bytes"
	"net/url"
	"strconv"
	"testing"

	"github.com/coder/websocket"
)

// TestWebTerminalInputNotRead: a program that does not read its terminal (a sleep on a
// raw pty, whose input buffer fills) makes the agent queue the page's input up to its
// bound, then close the socket with 4413; the shell stays, and the page gets it back.
func TestWebTerminalInputNotRead(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	s, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	s.input("stty raw -echo; echo READY; sleep 600\n")
	s.readUntil("READY")
	piece := bytes.Repeat([]byte("x"), 64<<10-1)
	for i := 0; i < 8; i++ { // 512 KiB: twice the bound, on top of the pty's buffer
		if s.send(0, piece) != nil {
			break // the agent closed the socket
		}
	}
	if code := s.closeCode(); code != 4413 {
		t.Fatalf("input to a program that does not read it: close %d, want 4413\nagent log:\n%s", code, w.Logs())
	}
	q := url.Values{"session": {s.session}, "offset": {strconv.FormatInt(s.offset+int64(s.out.Len()), 10)}}
	again, err := dialTerm(t, w, q)
	if err != nil {
		t.Fatalf("reattach to the shell after 4413: %v, want the same shell", err)
	}
	if again.session != s.session {
		t.Errorf("reattached to session %q, want %q", again.session, s.session)
	}
	_ = again.c.Close(websocket.StatusCode(4000), "page closed") // hangs the shell up
}
