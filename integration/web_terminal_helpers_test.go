package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// termWeb is an agent started with --web, for the web terminal's tests.
type termWeb struct {
	*agent
	addr  string // host:port of the web listener
	base  string // http://addr/
	token string
}

// startTermWeb starts an agent with --web on a random loopback port and reads its web
// address and token from status.json and the token file.
func startTermWeb(t *testing.T, opts agentOptions) *termWeb {
	t.Helper()
	opts.Args = append([]string{"--web", "127.0.0.1:0"}, opts.Args...)
	a := startAgent(t, opts)
	b, err := os.ReadFile(filepath.Join(a.StateDir, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Web *struct {
			Addr      string `json:"addr"`
			TokenFile string `json:"token_file"`
		} `json:"web"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Web == nil {
		t.Fatalf("status.json has no web part (%v):\n%s", err, b)
	}
	tok, err := os.ReadFile(st.Web.TokenFile)
	if err != nil {
		t.Fatalf("read the web token: %v", err)
	}
	return &termWeb{agent: a, addr: st.Web.Addr, base: "http://" + st.Web.Addr + "/", token: strings.TrimSpace(string(tok))}
}

// newTermBrowser starts a headless Chromium for the test (a missing chromium fails
// under JOBSSHD_INTEGRATION=1) and returns the context of its first tab.
func newTermBrowser(t *testing.T) context.Context {
	t.Helper()
	chromium := requireTool(t, "chromium", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // the tests run as root, where Chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 700),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenJS is the text of the xterm.js buffer, scrollback included, one line each.
const screenJS = `(() => { const b = jobsshd.term.buffer.active; const out = [];
	for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
	return out.join('\n'); })()`

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitJS waits until the JavaScript expression is truthy in the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		_, err = chromedp.Run(pctx, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(20*time.Millisecond)))
		// A navigation that lands while the page polls ends the poll with its page
		// ("Inspected target navigated or closed", "Execution context was destroyed"):
		// poll again, in the page the navigation brought, until the deadline.
		if err == nil || !navigatedAway(err) || time.Until(deadline) < 20*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		screen, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`window.jobsshd ? `+screenJS+` : document.body.innerText`))
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('status') || {}).textContent || ''`))
		t.Fatalf("waiting for %s: %v\nstatus: %s\nscreen:\n%s", what, err, status, screen)
	}
}

// waitScreen waits until the terminal shows want.
func waitScreen(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	waitJS(t, ctx, fmt.Sprintf("%q on the screen", want), `window.jobsshd && `+screenJS+`.includes(`+jsString(want)+`)`, 20*time.Second)
}

// typeLine types s and Enter into the terminal. The text is inserted as an input
// method would (Input.insertText): chromedp's key events send each printable key as a
// keydown and a keypress, which xterm.js both takes.
func typeLine(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(".xterm-helper-textarea"))); err != nil {
		t.Fatalf("focus the terminal: %v", err)
	}
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: s}); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("press Enter: %v", err)
	}
}

// evalJS evaluates expr in the page.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// cutProxy relays TCP connections to an address, and can cut them all at once and hold
// new ones back, as a proxy's idle timeout or a sleeping laptop would: what the browser
// sees is its server closing the connection.
type cutProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	held   bool
	resume chan struct{}
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, resume: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.release()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.relay(c) }()
	}
}

func (p *cutProxy) relay(c net.Conn) {
	p.mu.Lock()
	resume := p.resume
	held := p.held
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	if held {
		<-resume
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// cut closes every relayed connection and holds new ones until release.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.held {
		p.held = true
		p.resume = make(chan struct{})
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// release lets held and new connections through.
func (p *cutProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held {
		p.held = false
		close(p.resume)
	}
}

// navigatedAway reports whether err ended an evaluation because its page went away.
func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "navigated or closed") || strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Cannot find context")
}
