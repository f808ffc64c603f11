package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// liveStatus is what `jobsshd status --json` says beyond status.json's start-up fields.
type liveStatus struct {
	status
	Live struct {
		Connections  int    `json:"connections"`
		Sessions     int    `json:"sessions"`
		LastActivity string `json:"last_activity"`
	} `json:"live"`
}

// statusJSON runs `jobsshd status --json` on stateDir and parses what it prints.
func statusJSON(t *testing.T, stateDir string) (liveStatus, string, int) {
	t.Helper()
	out, errOut, code := runBinary(t, nil, "status", "--json", "--state-dir", stateDir)
	var st liveStatus
	if code == 0 {
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status --json printed no JSON: %v\n%s", err, out)
		}
	}
	return st, errOut, code
}

// TestStatusWait: `jobsshd status --wait` started before the agent returns once the
// agent listens and id_container is there, so that `status --wait && cat id_container`
// cannot race (issue 13, finding 1), and the known_hosts lines it prints let OpenSSH in
// with strict host key checking.
func TestStatusWait(t *testing.T) {
	t.Parallel()
	requireTool(t, "ssh", "openssh-client")
	stateDir := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithTimeout(context.Background(), 2*statusTimeout)
	defer cancel()
	waiter := exec.CommandContext(ctx, binPath, "status", "--wait", "--timeout", statusTimeout.String(), "--state-dir", stateDir)
	var out, errOut bytes.Buffer
	waiter.Stdout, waiter.Stderr = &out, &errOut
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, agentOptions{StateDir: stateDir})
	if err := waiter.Wait(); err != nil {
		t.Fatalf("status --wait: %v\nstderr:\n%s", err, errOut.String())
	}
	if _, err := os.Stat(a.IDFile); err != nil {
		t.Errorf("status --wait returned before id_container was there: %v", err)
	}
	port := strconv.Itoa(a.Port)
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "[127.0.0.1]:"+port+" ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(a.Status.HostKeys) {
		t.Fatalf("status printed %d known_hosts lines, want %d:\n%s", len(lines), len(a.Status.HostKeys), out.String())
	}
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, knownHosts, strings.Join(lines, "\n")+"\n", 0o600)
	b, err := exec.CommandContext(ctx, "ssh", "-F", "/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
		"-i", a.IDFile, "-p", port, a.Account.Name+"@127.0.0.1", "echo verified").CombinedOutput()
	if err != nil || string(b) != "verified\n" {
		t.Errorf("ssh with the known_hosts lines of jobsshd status and StrictHostKeyChecking=yes: %v, %q", err, b)
	}
	if !strings.Contains(out.String(), "jobsshd "+a.Status.Version+", pid "+strconv.Itoa(a.Status.PID)) {
		t.Errorf("status text lacks the agent's version and pid:\n%s", out.String())
	}
}

// TestStatusLiveFigures: `jobsshd status --json` shows a session while it is open and
// when the last activity was, and exits 1 once the agent is gone, killed or stopped.
func TestStatusLiveFigures(t *testing.T) {
	t.Parallel()
	requireTool(t, "ssh", "openssh-client")
	a := startAgent(t, agentOptions{})
	st, errOut, code := statusJSON(t, a.StateDir)
	if code != 0 || st.PID != a.Status.PID || st.Live.Connections != 0 || st.Live.Sessions != 0 || st.Live.LastActivity != "" {
		t.Fatalf("status --json before any login: exit %d, %+v, %s; want exit 0, this agent, no connections, no activity", code, st, errOut)
	}
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	sessionDone := make(chan sshResult, 1)
	before := time.Now().Add(-time.Second)
	go func() {
		sessionDone <- a.SSH(t, sshCall{Command: `i=0; while [ ! -e ` + release + ` ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`})
	}()
	if !testwait.Until(statusTimeout, func() bool {
		st, _, code = statusJSON(t, a.StateDir)
		return code == 0 && st.Live.Connections == 1 && st.Live.Sessions == 1
	}) {
		t.Fatalf("status --json did not show the open session within %v: %+v", statusTimeout, st.Live)
	}
	if last, err := time.Parse(time.RFC3339, st.Live.LastActivity); err != nil || last.Before(before.Truncate(time.Second)) {
		t.Errorf("last_activity %q: %v, want the session's start (after %v)", st.Live.LastActivity, err, before)
	}
	writeFile(t, release, "", 0o644)
	if res := <-sessionDone; res.ExitCode != 0 {
		t.Fatalf("the session: %v", res)
	}
	if !testwait.Until(2*statusTimeout, func() bool {
		st, _, code = statusJSON(t, a.StateDir)
		return code == 0 && st.Live.Connections == 0 && st.Live.Sessions == 0
	}) {
		t.Errorf("status --json still counts the ended session: %+v", st.Live)
	}

	// Killed: its status.json stays, and names a pid that is gone.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	if _, errOut, code := statusJSON(t, a.StateDir); code != 1 || !strings.Contains(errOut, "is gone") {
		t.Errorf("status after the agent was killed: exit %d, %q; want 1 naming the gone pid", code, errOut)
	}
	a.start() // not Restart, which stops first: this one is gone already
	a.Stop()
	if _, errOut, code := statusJSON(t, a.StateDir); code != 1 || !strings.Contains(errOut, "not running") {
		t.Errorf("status after the agent stopped: exit %d, %q; want 1, not running", code, errOut)
	}
}
