package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebTerminalBrowserInputNotRead: a paste that a program does not read overflows
// the agent's input queue, which closes the socket with 4413 and drops the message
// that crossed the bound. The page reconnects to the same shell and its status bar
// says, still after the reconnect, that input was dropped, with the agent's reason.
func TestWebTerminalBrowserInputNotRead(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	ctx := newTermBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"?token="+w.token)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page to attach to a shell", `window.jobsshd && jobsshd.state().connects === 1`, 20*time.Second)
	waitScreen(t, ctx, "$ ")
	typeLine(t, ctx, "stty raw -echo; echo READ''Y; sleep 600") // a program that does not read its terminal
	waitScreen(t, ctx, "\nREADY")
	// 640 KiB pasted: the pty's buffer, then the agent's 256 KiB queue, then 4413.
	evalJS[bool](t, ctx, `(() => {
		const dt = new DataTransfer();
		dt.setData('text/plain', 'x'.repeat(640 * 1024));
		document.querySelector('.xterm-helper-textarea').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
		return true; })()`)
	waitJS(t, ctx, "the page to reattach after 4413", `jobsshd.state().connects === 2 && document.getElementById('status').dataset.state === 'connected'`, 30*time.Second)
	status := evalJS[string](t, ctx, `document.getElementById('status').textContent`)
	if !strings.Contains(status, "input dropped: the program in the terminal has not read 256 KiB of earlier input") {
		t.Errorf("status bar after the reconnect: %q, want the agent's reason for dropping input", status)
	}
	if code := evalJS[float64](t, ctx, `jobsshd.state().lastClose.code`); code != 4413 {
		t.Errorf("the page's socket closed with %v, want 4413", code)
	}
	typeLine(t, ctx, "again") // typing again clears the note
	waitJS(t, ctx, "the status bar to drop the note once the user types", `document.getElementById('status').textContent === 'connected'`, 10*time.Second)
	if n := strings.Count(w.Logs(), "event=session.start"); n != 1 {
		t.Errorf("%d shells started, want 1 (the page must reattach)", n)
	}
}
