package agent

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// syncBuffer is a bytes.Buffer safe for the log handler and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func webTestRequest() WebTerminalRequest {
	return WebTerminalRequest{
		Remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000},
		Local:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080},
		Cols:   100, Rows: 30,
	}
}

// readUntil reads the terminal's output until it contains want.
func readUntil(t *testing.T, term *WebTerminal, want string) string {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.AfterFunc(10*time.Second, term.HangUp)
	defer deadline.Stop()
	for !strings.Contains(out.String(), want) {
		n, err := term.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("read until %q: %v; got %q", want, err, out.String())
		}
	}
	return out.String()
}

// TestWebTerminalIsALoginShellSession: the shell runs on a pty with the web TERM, the
// size asked for, the browser as SSH_CONNECTION's client, and its audit events say
// transport=web; its exit status comes back.
func TestWebTerminalIsALoginShellSession(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	logs := &syncBuffer{}
	srv.log = slog.New(slog.NewTextHandler(logs, nil))
	term, err := srv.StartWebTerminal(webTestRequest())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.HangUp(); <-term.Done() })
	if _, err := io.WriteString(term, "echo T=$TERM; stty size; tty; echo C=$SSH_CONNECTION; exit 7\n"); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(term)
	if err != nil {
		t.Fatalf("read output: %v", err)
	}
	for _, want := range []string{"T=xterm-256color", "30 100", "/dev/pts/", "C=192.0.2.7 40000 127.0.0.1 8080"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	<-term.Done()
	if status, signal := term.ExitStatus(); status != 7 || signal != "" {
		t.Errorf("exit: got status %d signal %q, want status 7", status, signal)
	}
	for _, want := range []string{"event=session.start", "event=session.end", "transport=web", "remote=192.0.2.7:40000"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestWebTerminalHangUp: HangUp ends a running shell as a closed SSH channel does
// (SIGHUP), even while nobody reads its output, and frees its place.
func TestWebTerminalHangUp(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	srv.cfg.MaxSessions = 1
	term, err := srv.StartWebTerminal(webTestRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.StartWebTerminal(webTestRequest()); err == nil || !strings.Contains(err.Error(), "too many web terminals") {
		t.Fatalf("second terminal over --max-sessions 1: got %v, want a refusal", err)
	}
	if _, err := io.WriteString(term, "echo READY; yes\n"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, term, "READY")
	term.HangUp() // `yes` is blocked writing: nobody reads any more
	select {
	case <-term.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("hung-up terminal did not end")
	}
	if _, signal := term.ExitStatus(); signal != "HUP" {
		t.Errorf("exit after hangup: got signal %q, want HUP", signal)
	}
	var again *WebTerminal
	testwait.For(t, 5*time.Second, "a place for a new terminal", func() bool {
		again, err = srv.StartWebTerminal(webTestRequest())
		return err == nil
	})
	again.HangUp()
	<-again.Done()
}
