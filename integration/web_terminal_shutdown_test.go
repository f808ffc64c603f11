package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"

	"github.com/coder/websocket"
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

// TestWebRefusesDuringShutdownGrace: once SIGTERM starts the shutdown, the web server
// takes no new page or /terminal request (and so starts no shell), even while an SSH
// session that ignores its hangup keeps the agent in its grace period.
func TestWebRefusesDuringShutdownGrace(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	client := dialAgent(t, w.agent)
	sess, err := client.NewSession()
	if err != nil {
		t.Fatalf("open an SSH session: %v", err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("trap '' HUP; echo ready; sleep 60"); err != nil {
		t.Fatalf("start the SSH session's command: %v", err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("read the SSH session's ready line: %v", err)
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal jobsshd: %v", err)
	}
	testwait.For(t, 5*time.Second, "the agent to log that it is shutting down", func() bool {
		return strings.Contains(w.Logs(), "shutting down")
	})
	// Well inside the 5 s grace the SSH session holds the agent in.
	refused := testwait.Until(2*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", w.addr, time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
	if !w.running() {
		t.Fatalf("the agent exited before the check: the SSH session did not hold it in its grace\n%s", w.Logs())
	}
	if !refused {
		t.Errorf("the web listener %s still accepts connections during the shutdown grace", w.addr)
	}
	if resp, err := http.Get(w.base); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s during the shutdown grace: %s, want connection refused", w.base, resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, _, err := websocket.Dial(ctx, "ws://"+w.addr+"/terminal?cols=80&rows=24", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + w.token}},
	}); err == nil {
		_ = c.CloseNow()
		t.Errorf("/terminal opened a shell during the shutdown grace, want connection refused")
	}
	select {
	case <-w.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("jobsshd did not exit within %v of SIGTERM", stopTimeout)
	}
	if w.waitErr != nil {
		t.Errorf("jobsshd exit after SIGTERM: %v, want exit status 0\n%s", w.waitErr, w.Logs())
	}
}
