package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jobsshd/internal/testwait"
)

// TestWebTerminalBrowserInputNotRead: a paste that a program does not read overflows
// the agent's input queue, which closes the socket with 4413 and drops the message
// that crossed the bound. The page reconnects to the same shell and its status bar
// says, still after the reconnect, that input was dropped, with the agent's reason.
// Once the program reads again, what the user types gets through and clears the note.
func TestWebTerminalBrowserInputNotRead(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	ctx := newTermBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"?token="+w.token)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(accountTempDir(t, w.Account), "read")
	waitJS(t, ctx, "the page to attach to a shell", `window.jobsshd && jobsshd.state().connects === 1`, 20*time.Second)
	waitScreen(t, ctx, "$ ")
	// A program that does not read its terminal until the test ends its sleep; then
	// cat takes everything queued, in order, into a file the test reads.
	typeLine(t, ctx, "stty raw -echo; sleep 600 & echo SLEEP''=$!=; wait; cat > "+out)
	sleeper := sleeperPID(t, ctx)
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
	// The program reads again. Until the queue has drained, typing may still find it
	// full and be dropped with another 4413, as it should; so type until the line
	// arrives, a bounded number of times.
	if err := syscall.Kill(sleeper, syscall.SIGTERM); err != nil {
		t.Fatalf("end the sleep (pid %d): %v", sleeper, err)
	}
	arrived := false
	for try := 0; try < 10 && !arrived; try++ {
		waitJS(t, ctx, "the page to be connected", `document.getElementById('status').dataset.state === 'connected'`, 30*time.Second)
		typeLine(t, ctx, "again")
		arrived = testwait.Until(3*time.Second, func() bool {
			b, _ := os.ReadFile(out)
			return strings.Contains(string(b), "again")
		})
	}
	if !arrived {
		t.Fatalf("what the user typed after the program read again never reached it (%s)", out)
	}
	waitJS(t, ctx, "the status bar to drop the note once the user types", `document.getElementById('status').textContent === 'connected'`, 10*time.Second)
	if n := strings.Count(w.Logs(), "event=session.start"); n != 1 {
		t.Errorf("%d shells started, want 1 (the page must reattach)", n)
	}
}

// sleeperPID reads the pid the shell printed as SLEEP=PID= from the terminal's screen.
func sleeperPID(t *testing.T, ctx context.Context) int {
	t.Helper()
	waitScreen(t, ctx, "SLEEP=")
	screen := evalJS[string](t, ctx, screenJS)
	_, rest, _ := strings.Cut(screen, "SLEEP=")
	pid, err := strconv.Atoi(strings.SplitN(rest, "=", 2)[0])
	if err != nil || pid <= 1 {
		t.Fatalf("no pid after SLEEP= on the screen: %q", screen)
	}
	return pid
}
