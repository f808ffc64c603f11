package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebTerminalCatBench measures output into the browser (BENCHMARKS.md, "Web
// terminal"): `cat` of a 50 MiB text file in the terminal page, the time from Enter
// until the file's last line shows, and the agent's peak RSS (VmHWM) before and after.
// It is a measurement, not a check, so it runs only when asked:
//
//	JOBSSHD_INTEGRATION=1 JOBSSHD_WEB_BENCH=1 go test -count=1 -v -run TestWebTerminalCatBench ./integration/
func TestWebTerminalCatBench(t *testing.T) {
	if os.Getenv("JOBSSHD_WEB_BENCH") != "1" {
		t.Skip("a benchmark: set JOBSSHD_WEB_BENCH=1 to run it")
	}
	w := startTermWeb(t, agentOptions{})
	file := filepath.Join(accountTempDir(t, w.Account), "50MiB.txt")
	writeTextFile(t, file, 50<<20)
	ctx := newTermBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(w.base+"?token="+w.token)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page to attach to a shell", `window.jobsshd && jobsshd.state().connects === 1`, 20*time.Second)
	typeLine(t, ctx, "echo ready")
	waitScreen(t, ctx, "\nready")
	before := procStatusKB(t, w.cmd.Process.Pid, "VmHWM")

	start := time.Now()
	typeLine(t, ctx, "cat "+file)
	// Only the last screenful is searched: reading the whole scrollback on every poll
	// would slow the page down.
	waitJS(t, ctx, "the file's last line", `(() => { const b = jobsshd.term.buffer.active;
		for (let i = Math.max(0, b.length - 60); i < b.length; i++)
			if (b.getLine(i).translateToString(true) === 'LAST-LINE-OF-THE-FILE') return true;
		return false; })()`, 10*time.Minute)
	elapsed := time.Since(start)
	after := procStatusKB(t, w.cmd.Process.Pid, "VmHWM")
	t.Logf("cat of 50 MiB into the browser: last line after %.1f s (%.1f MiB/s); agent peak RSS %d MiB before, %d MiB after",
		elapsed.Seconds(), 50/elapsed.Seconds(), before>>10, after>>10)
}

// writeTextFile writes about size bytes of 80-column text lines ending with
// LAST-LINE-OF-THE-FILE, readable by everyone.
func writeTextFile(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	for n, i := 0, 0; n < size; i++ {
		line := fmt.Sprintf("%08d the quick brown fox jumps over the lazy dog, 0123456789 abcdefghijklmn\n", i)
		n += len(line)
		bw.WriteString(line)
	}
	bw.WriteString("LAST-LINE-OF-THE-FILE\n")
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// procStatusKB reads a "kB" field of /proc/PID/status.
func procStatusKB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
