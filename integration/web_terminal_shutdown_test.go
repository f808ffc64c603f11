package integration

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestWebTerminalAgentShutdown: SIGTERM to an agent with web shells, one with its page
// attached and one waiting for its page to reconnect, hangs both up (each one's HUP
// trap runs) and the agent exits promptly and cleanly, within the shutdown grace.
func TestWebTerminalAgentShutdown(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	var markers, pids []string
	for i, detach := range []bool{false, true} {
		s, err := dialTerm(t, w, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		marker := filepath.Join(w.Account.Home, fmt.Sprintf("web-hup-%d-%d", os.Getpid(), i))
		t.Cleanup(func() { _ = os.Remove(marker) })
		s.input(fmt.Sprintf("trap 'echo hup > %s; exit 0' HUP; echo PID=$$\n", marker))
		pids = append(pids, s.readMatch(termPIDLine)[1])
		markers = append(markers, marker)
		if detach {
			_ = s.c.CloseNow() // no goodbye: the shell waits for --web-reconnect
		}
	}
	start := time.Now()
	w.Stop() // fails the test unless the agent exits 0 within stopTimeout
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the agent took %v to exit after SIGTERM with two web shells whose HUP traps exit at once", took)
	}
	for i, marker := range markers {
		testwait.For(t, 5*time.Second, "shell "+pids[i]+" to be gone", func() bool {
			_, err := os.Stat("/proc/" + pids[i])
			return os.IsNotExist(err)
		})
		b, err := os.ReadFile(marker)
		if err != nil || strings.TrimSpace(string(b)) != "hup" {
			t.Errorf("web shell %d (pid %s): its HUP trap did not run at shutdown: %q, %v\nagent log:\n%s", i, pids[i], b, err, w.Logs())
		}
	}
}
