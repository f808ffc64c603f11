package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echoTerminal is a shell that prints what it is sent.
type echoTerminal struct {
	pr   *io.PipeReader
	pw   *io.PipeWriter
	once sync.Once
	done chan struct{}
}

func newEchoTerminal() *echoTerminal {
	pr, pw := io.Pipe()
	return &echoTerminal{pr: pr, pw: pw, done: make(chan struct{})}
}

func (e *echoTerminal) Read(p []byte) (int, error)     { return e.pr.Read(p) }
func (e *echoTerminal) Write(p []byte) (int, error)    { return e.pw.Write(p) }
func (e *echoTerminal) Resize(cols, rows uint16) error { return nil }
func (e *echoTerminal) HangUp() {
	e.once.Do(func() { e.pw.CloseWithError(io.EOF); close(e.done) })
}
func (e *echoTerminal) Done() <-chan struct{}        { return e.done }
func (e *echoTerminal) ExitStatus() (uint32, string) { return 0, "HUP" }

type echoTerminals struct {
	mu      sync.Mutex
	started []*echoTerminal
}

func (e *echoTerminals) StartTerminal(TerminalRequest) (Terminal, error) {
	t := newEchoTerminal()
	e.mu.Lock()
	e.started = append(e.started, t)
	e.mu.Unlock()
	return t, nil
}

// dialTestTerminal opens /terminal on ts with the token and reads the attached event.
func dialTestTerminal(t *testing.T, ts *testServer, query string) (*websocket.Conn, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(ts.url, "http", "ws", 1)+"/terminal?cols=80&rows=24"+query,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	typ, p, err := c.Read(ctx)
	var ev map[string]any
	if err != nil || typ != websocket.MessageText || json.Unmarshal(p, &ev) != nil || ev["type"] != "attached" {
		t.Fatalf("first message: %v %q %v, want the attached event", typ, p, err)
	}
	return c, ev
}

func readOutput(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, p, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary {
		t.Fatalf("read output: %v %q %v", typ, p, err)
	}
	return string(p)
}

// TestTerminalSocketTakeOverAndGoodbye runs the socket code under the race detector: a
// second socket with the session id takes the shell over (the first is closed with
// 4409), and a page's goodbye (4000) hangs the shell up.
func TestTerminalSocketTakeOverAndGoodbye(t *testing.T) {
	t.Parallel()
	terms := &echoTerminals{}
	ts := newTestServer(t, Config{Terminals: terms})
	first, ev := dialTestTerminal(t, ts, "")
	ctx := context.Background()
	if err := first.Write(ctx, websocket.MessageBinary, []byte("\x00hello")); err != nil {
		t.Fatal(err)
	}
	if got := readOutput(t, first); got != "hello" {
		t.Fatalf("echo: got %q", got)
	}
	second, ev2 := dialTestTerminal(t, ts, "&session="+ev["session"].(string)+"&offset=5")
	if ev2["offset"] != float64(5) {
		t.Errorf("reattach at 5: got offset %v", ev2["offset"])
	}
	if _, _, err := first.Read(ctx); websocket.CloseStatus(err) != closeReplaced {
		t.Errorf("the replaced socket: got %v, want close %d", err, closeReplaced)
	}
	if err := second.Write(ctx, websocket.MessageBinary, []byte("\x00world")); err != nil {
		t.Fatal(err)
	}
	if got := readOutput(t, second); got != "world" {
		t.Fatalf("echo after the take-over: got %q", got)
	}
	if err := second.Close(closeGoodbye, "page closed"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-terms.started[0].done:
	case <-time.After(10 * time.Second):
		t.Fatal("the shell was not hung up after the page's goodbye")
	}
	if len(terms.started) != 1 {
		t.Errorf("%d shells started, want 1", len(terms.started))
	}
}

// TestTerminalPage: the page carries a fresh nonce in its CSP and in its script tag;
// the assets are served, the page's template is not.
func TestTerminalPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{Terminals: &echoTerminals{}})
	auth := http.Header{"Authorization": {"Bearer " + testToken}}
	var nonces []string
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, ts.url+"/", nil)
		req.Header = auth
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		_, rest, ok := strings.Cut(csp, "'nonce-")
		nonce, _, _ := strings.Cut(rest, "'")
		if resp.StatusCode != 200 || !ok || !strings.Contains(string(body), `nonce="`+nonce+`"`) || strings.Contains(string(body), nonceMarker) {
			t.Fatalf("GET /: %d, CSP %q, body without its nonce", resp.StatusCode, csp)
		}
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q allows more than the agent", csp)
		}
		nonces = append(nonces, nonce)
	}
	if nonces[0] == nonces[1] {
		t.Error("two pages got the same nonce")
	}
	for path, want := range map[string]int{"/assets/vendor/xterm/xterm.js": 200, "/assets/terminal.js": 200, "/assets/vendor/xterm/LICENSE": 200,
		"/assets/index.html": 404, "/assets/refresh-vendor.sh": 404, "/assets/nothing": 404} {
		if resp := ts.get(t, path, auth); resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if resp := ts.get(t, "/assets/terminal.js", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an asset without the token: %d, want 401", resp.StatusCode)
	}
}
