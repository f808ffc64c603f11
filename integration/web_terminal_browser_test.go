package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspRecorder runs before the page's scripts and records every Content-Security-Policy
// violation: the page must work under its policy, not around it.
const cspRecorder = `window.__csp = []; document.addEventListener('securitypolicyviolation',
	(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`

// TestWebTerminalBrowser drives the terminal page in Chromium: the shell, UTF-8 and
// colours under the page's CSP, resizing, a reconnect to the same shell after the
// connection is cut, the key download button, and that no request leaves the agent.
// The page is reached through a proxy the test can cut, as an ingress would be.
func TestWebTerminalBrowser(t *testing.T) {
	w := startTermWeb(t, agentOptions{Env: []string{"SOME_CONTAINER_VAR=container-value-4711"}})
	proxy := newCutProxy(t, w.addr)
	base := "http://" + proxy.addr() + "/"
	ctx := newTermBrowser(t)

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *network.EventWebSocketCreated:
			requests = append(requests, e.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"?token="+w.token)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page to attach to a shell", `window.jobsshd && jobsshd.state().connects === 1`, 20*time.Second)
	if loc := evalJS[string](t, ctx, `location.href`); loc != base {
		t.Errorf("the page's address after ?token=: got %q, want %q (the token must leave the address bar)", loc, base)
	}

	t.Run("shell", func(t *testing.T) { browserShell(t, ctx) })
	t.Run("utf-8 and colours", func(t *testing.T) { browserColours(t, ctx) })
	t.Run("resize", func(t *testing.T) { browserResize(t, ctx) })
	t.Run("paste", func(t *testing.T) { browserPaste(t, ctx) })
	t.Run("copy", func(t *testing.T) { browserCopy(t, ctx) })
	t.Run("reconnect", func(t *testing.T) { browserReconnect(t, ctx, w, proxy) })
	t.Run("download", func(t *testing.T) { browserDownload(t, ctx, w) })
	t.Run("csp", func(t *testing.T) {
		if v := evalJS[[]string](t, ctx, `window.__csp`); len(v) != 0 {
			t.Errorf("Content-Security-Policy violations: %q", v)
		}
	})
	t.Run("no request left the agent", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if len(requests) < 5 {
			t.Fatalf("recorded only %d requests (%q): the recorder does not work", len(requests), requests)
		}
		for _, u := range requests {
			if !strings.HasPrefix(u, base) && !strings.HasPrefix(u, "ws://"+proxy.addr()+"/") {
				t.Errorf("the page made a request outside the agent: %s", u)
			}
		}
	})
	t.Run("cross-origin websocket", func(t *testing.T) { browserCrossOrigin(t, ctx, w, proxy) })
	t.Run("wrong or missing token", func(t *testing.T) { browserWithoutToken(t, ctx, w, base) })
}

func browserShell(t *testing.T, ctx context.Context) {
	waitScreen(t, ctx, "$ ") // the prompt: typed-ahead text would be echoed before it
	// Blank lines may come between the answers: the page's first fit can resize the
	// terminal while they are printed, and xterm.js reflows its lines.
	typeLine(t, ctx, "id -un; tty; echo $SOME_CONTAINER_VAR")
	waitJS(t, ctx, "the account, a pty and the container's variable",
		`/\njobtest\n+\/dev\/pts\/\d+\n+container-value-4711\n/.test(`+screenJS+`)`, 20*time.Second)
}

// browserColours prints UTF-8, a palette colour and a 24-bit colour, and checks what
// xterm.js parsed and what the page shows: the 24-bit colour goes through a style
// attribute and the palette through a <style> element, both of which the page's CSP
// forbids unless terminal.js routes them as it does.
func browserColours(t *testing.T, ctx context.Context) {
	typeLine(t, ctx, `printf 'RED\033[31m<r>\033[0m \342\234\223 gr\303\274\303\237e \033[38;2;1;2;3m<tc>\033[0m\n'`)
	waitScreen(t, ctx, "RED<r> ✓ grüße <tc>")
	waitJS(t, ctx, "the colours to be drawn", `[...document.querySelectorAll('.xterm-rows span')].some((s) => s.textContent === '<tc>')`, 10*time.Second)
	styles := evalJS[map[string]string](t, ctx, `(() => {
		const out = {};
		for (const s of document.querySelectorAll('.xterm-rows span')) out[s.textContent] = getComputedStyle(s).color;
		return out; })()`)
	if got := styles["<r>"]; got != "rgb(204, 0, 0)" { // xterm.js's default red, #cd0000
		t.Errorf("palette red is shown as %q, want rgb(204, 0, 0); spans: %q", got, styles)
	}
	if got := styles["<tc>"]; got != "rgb(1, 2, 3)" {
		t.Errorf("24-bit colour is shown as %q, want rgb(1, 2, 3); spans: %q", got, styles)
	}
}

func browserResize(t *testing.T, ctx context.Context) {
	for i, size := range [][2]int64{{640, 360}, {1200, 800}} {
		before := evalJS[string](t, ctx, `jobsshd.term.cols + 'x' + jobsshd.term.rows`)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1])); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the terminal to refit", fmt.Sprintf(`jobsshd.term.cols + 'x' + jobsshd.term.rows !== %s`, jsString(before)), 10*time.Second)
		want := evalJS[string](t, ctx, `jobsshd.term.rows + ' ' + jobsshd.term.cols`)
		typeLine(t, ctx, fmt.Sprintf("echo size%d=$(stty size)", i))
		waitScreen(t, ctx, fmt.Sprintf("size%d=%s", i, want))
	}
}

// browserPaste pastes 100,000 characters, as a browser delivers a paste to xterm.js
// (a paste event on its textarea): the page splits it into messages the agent takes
// (at most 64 KiB each), and the shell gets all of it.
func browserPaste(t *testing.T, ctx context.Context) {
	evalJS[bool](t, ctx, `(() => {
		const dt = new DataTransfer();
		dt.setData('text/plain', 'A=' + 'x'.repeat(100000));
		document.querySelector('.xterm-helper-textarea').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
		return true; })()`)
	typeLine(t, ctx, "")
	typeLine(t, ctx, "echo pasted=${#A}")
	waitScreen(t, ctx, "pasted=100000")
	if state := evalJS[string](t, ctx, `document.getElementById('status').dataset.state`); state != "connected" {
		t.Errorf("after the paste the page is %q, want connected", state)
	}
}

// browserCopy selects text on the screen and presses Ctrl+Shift+C: the selection is
// on the clipboard, and the shell got no Ctrl-C.
func browserCopy(t *testing.T, ctx context.Context) {
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted}); err != nil {
			t.Fatal(err)
		}
	}
	typeLine(t, ctx, "echo copy-$((3*4))-me")
	waitScreen(t, ctx, "\ncopy-12-me")
	evalJS[bool](t, ctx, `(() => { const b = jobsshd.term.buffer.active;
		for (let i = b.length - 1; i >= 0; i--)
			if (b.getLine(i).translateToString(true) === 'copy-12-me') { jobsshd.term.select(0, i, 10); return true; }
		return false; })()`)
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(".xterm-helper-textarea")),
		chromedp.KeyEvent("C", chromedp.KeyModifiers(chromedp.ModifierCtrl, chromedp.ModifierShift))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the selection on the clipboard", `navigator.clipboard.readText().then((s) => s === 'copy-12-me')`, 10*time.Second)
	typeLine(t, ctx, "echo still-$((5*5))") // a Ctrl-C would have left a ^C on this line
	waitScreen(t, ctx, "\nstill-25")
	if screen := evalJS[string](t, ctx, screenJS); strings.Contains(screen, "^C") {
		t.Errorf("Ctrl+Shift+C reached the shell as Ctrl-C:\n%s", screen)
	}
}

// browserReconnect cuts the page's connection, makes the shell print while the page is
// away, and checks that the page comes back by itself to the same shell, with the
// earlier output still on screen and the missed output replayed.
func browserReconnect(t *testing.T, ctx context.Context, w *termWeb, proxy *cutProxy) {
	typeLine(t, ctx, "echo PID-A=$$")
	waitJS(t, ctx, "the shell's pid", `/\nPID-A=\d+/.test(`+screenJS+`)`, 20*time.Second)
	pidA := regexp.MustCompile(`\nPID-A=(\d+)`).FindStringSubmatch(evalJS[string](t, ctx, screenJS))
	if pidA == nil {
		t.Fatal("no PID-A line on the screen")
	}
	fifo := filepath.Join(accountTempDir(t, w.Account), "late")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(fifo, w.Account.UID, w.Account.GID); err != nil {
		t.Fatal(err)
	}
	typeLine(t, ctx, "cat "+fifo)
	waitScreen(t, ctx, "cat "+fifo) // the shell has the line: its echo came back

	proxy.cut()
	waitJS(t, ctx, "the page to show it is disconnected", `document.getElementById('status').dataset.state === 'disconnected'`, 10*time.Second)
	writeFIFO(t, fifo, "LATE-OUTPUT-42\n") // printed while no page is attached
	proxy.release()

	waitJS(t, ctx, "the page to reattach", `jobsshd.state().connects === 2 && document.getElementById('status').dataset.state === 'connected'`, 30*time.Second)
	waitScreen(t, ctx, "LATE-OUTPUT-42")
	typeLine(t, ctx, "echo PID-B=$$")
	waitScreen(t, ctx, "PID-B="+pidA[1])
	if screen := evalJS[string](t, ctx, screenJS); !strings.Contains(screen, "PID-A="+pidA[1]) {
		t.Errorf("the output from before the cut is gone from the screen:\n%s", screen)
	}
	if n := strings.Count(w.Logs(), "event=session.start"); n != 1 {
		t.Errorf("%d shells started, want 1 (the reconnect must reattach, not start another)", n)
	}
}

// writeFIFO writes s to a FIFO whose reader the shell has opened, within a deadline.
func writeFIFO(t *testing.T, path, s string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(s)
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("nobody opened %s for reading", path)
	}
}

func browserDownload(t *testing.T, ctx context.Context, w *termWeb) {
	dir := t.TempDir()
	completed := make(chan string, 1)
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case completed <- e.GUID:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#download-ppk"))); err != nil {
		t.Fatal(err)
	}
	var guid string
	select {
	case guid = <-completed:
	case <-time.After(20 * time.Second):
		t.Fatal("the .ppk download did not complete")
	}
	got, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(w.IDFile + ".ppk")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || !bytes.HasPrefix(got, []byte("PuTTY-User-Key-File-")) {
		t.Errorf("downloaded .ppk (%d bytes) differs from %s.ppk (%d bytes)", len(got), w.IDFile, len(want))
	}
}

// browserCrossOrigin opens, from a page of another origin on the same host (so the
// browser sends the agent's SameSite cookie along), a WebSocket to /terminal: the agent
// must refuse it on its Origin, and start no shell.
func browserCrossOrigin(t *testing.T, ctx context.Context, w *termWeb, proxy *cutProxy) {
	shells := strings.Count(w.Logs(), "event=session.start")
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, `<!doctype html><script>
			const ws = new WebSocket('ws://%s/terminal?cols=80&rows=24');
			ws.onopen = () => { window.result = 'open'; };
			ws.onclose = (e) => { window.result = window.result || ('closed ' + e.code); };
			</script>`, proxy.addr())
	}))
	defer evil.Close()
	tab, cancel := chromedp.NewContext(ctx) // a new tab with the same cookies
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, "the cross-origin WebSocket to end", `window.result`, 10*time.Second)
	if got := evalJS[string](t, tab, `window.result`); got != "closed 1006" {
		t.Errorf("cross-origin WebSocket: got %q, want it refused before opening (closed 1006)", got)
	}
	if !strings.Contains(w.Logs(), "origin not allowed") {
		t.Errorf("the agent's log does not name the refused origin")
	}
	if n := strings.Count(w.Logs(), "event=session.start"); n != shells {
		t.Errorf("a cross-origin WebSocket started a shell")
	}
}

// browserWithoutToken opens the page in a fresh profile with a wrong token and with
// none: no terminal, no key, no shell.
func browserWithoutToken(t *testing.T, ctx context.Context, w *termWeb, base string) {
	shells := strings.Count(w.Logs(), "event=session.start")
	for _, url := range []string{base + "?token=wrong-" + w.token[:8], base} {
		tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext()) // no cookies
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			cancel()
			t.Fatal(err)
		}
		if evalJS[bool](t, tab, `window.jobsshd !== undefined`) {
			t.Errorf("%s: the terminal page loaded", url)
		}
		status, err := chromedp.Run(tab, chromedp.Evaluate[float64](`fetch('id_container.ppk').then(r => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if status != 401 && status != 429 {
			t.Errorf("%s: id_container.ppk answered %v, want 401 (or 429 once rate-limited)", url, status)
		}
		cancel()
	}
	if n := strings.Count(w.Logs(), "event=session.start"); n != shells {
		t.Errorf("a request without the token started a shell")
	}
}
