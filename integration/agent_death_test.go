package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// backgroundClient is a client left running while the test does something to the agent.
type backgroundClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser // kept open: the session lasts until it is closed
	lines chan string    // the client's stdout, line by line
}

// startBackgroundClient starts name with args and returns once it runs; Cleanup closes
// its stdin and kills it if it is still running.
func startBackgroundClient(t *testing.T, name string, args ...string) *backgroundClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*clientTimeout)
	cmd := exec.CommandContext(ctx, name, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c := &backgroundClient{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		defer close(c.lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			c.lines <- strings.TrimRight(s.Text(), "\r")
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cancel()
		_ = cmd.Wait() // killed by cancel if still running
	})
	return c
}

var pidLine = regexp.MustCompile(`(?:^|[\r\a])PID (\d+)$`) // a terminal may put escapes before it

// pid waits (bounded) for the line "PID n" that the remote command prints first.
func (c *backgroundClient) pid(t *testing.T) int {
	t.Helper()
	timeout := time.After(clientTimeout)
	var seen []string
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("%s ended without printing its pid; its output: %q", c.cmd.Args[0], seen)
			}
			seen = append(seen, l)
			if m := pidLine.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				return n
			}
		case <-timeout:
			t.Fatalf("%s printed no pid within %v; its output: %q", c.cmd.Args[0], clientTimeout, seen)
		}
	}
}

// sftpServerChild waits (bounded) for the one `jobsshd sftp-server` child of the agent.
func sftpServerChild(t *testing.T, agentPid int) int {
	t.Helper()
	var found int
	if !testwait.Until(clientTimeout, func() bool {
		for _, p := range childPids(agentPid) {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			if strings.Contains(string(b), "sftp-server") {
				found = p
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no sftp-server child of jobsshd (pid %d) within %v", agentPid, clientTimeout)
	}
	return found
}

// TestAgentKilledEndsItsPrograms: when the agent is killed (kill -9, as the OOM killer
// does) its programs learn of it (issue 10, item 13): a pty login shell and a command
// without a pty get SIGHUP, as a hangup would send, and end; an sftp-server gets
// SIGKILL; a program that ignores SIGHUP survives, as it would a closed connection (it
// asked to: nohup does the same). status.json stays behind, but its pid and start_time
// no longer name a live process.
func TestAgentKilledEndsItsPrograms(t *testing.T) {
	t.Parallel()
	requireTool(t, "sftp", "openssh-client")
	a := startAgent(t, agentOptions{})
	agentPid := a.cmd.Process.Pid
	if got, err := processStartTimeOf(agentPid); err != nil || a.Status.StartTime != got || a.Status.BootID == "" {
		t.Fatalf("status.json start_time %d, boot_id %q; /proc/%d/stat says %d (%v): want equal and a boot id",
			a.Status.StartTime, a.Status.BootID, agentPid, got, err)
	}

	ssh := func(opts []string, command string) []string {
		return a.sshArgs(sshCall{Opts: opts, Command: command})
	}
	// A login shell on a pty, told what to do on its terminal.
	pty := startBackgroundClient(t, "ssh", ssh([]string{"-tt"}, "")...)
	if _, err := io.WriteString(pty.stdin, "echo PID $$\n"); err != nil {
		t.Fatal(err)
	}
	noPty := startBackgroundClient(t, "ssh", ssh([]string{"-T"}, `echo PID $$; exec sleep 302`)...)
	ignoresHUP := startBackgroundClient(t, "ssh", ssh([]string{"-T"}, `trap '' HUP; echo PID $$; exec sleep 303`)...)
	sftp := startBackgroundClient(t, "sftp", append(hermeticCopyOptions(a.IDFile, a.Port), "-b", "-", a.destination())...)
	programs := map[string]int{"pty": pty.pid(t), "no pty": noPty.pid(t), "ignores SIGHUP": ignoresHUP.pid(t)}
	comms := map[string]string{"pty": procComm(programs["pty"]), "no pty": "sleep"}
	sftpServer := sftpServerChild(t, agentPid)
	t.Cleanup(func() {
		if processAlive(programs["ignores SIGHUP"], "sleep") {
			_ = syscall.Kill(programs["ignores SIGHUP"], syscall.SIGKILL)
		}
	})
	_ = sftp

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited

	gone := map[string]int{"pty": programs["pty"], "no pty": programs["no pty"]}
	for name, pid := range gone {
		if !testwait.Until(10*time.Second, func() bool { return !processAlive(pid, comms[name]) }) {
			t.Errorf("%s session's program (pid %d) still runs 10s after the agent was killed", name, pid)
		}
	}
	if !testwait.Until(10*time.Second, func() bool { return !processAlive(sftpServer, "jobsshd") }) {
		t.Errorf("sftp-server (pid %d) still runs 10s after the agent was killed", sftpServer)
	}
	// The parent-death signals were all sent as the agent died; the others are gone,
	// so this one got its SIGHUP and ignored it.
	if !processAlive(programs["ignores SIGHUP"], "sleep") {
		t.Errorf("the program that ignores SIGHUP (pid %d) is gone; want it to survive the agent as it survives a hangup", programs["ignores SIGHUP"])
	}

	// status.json is stale, and says so to a platform that checks pid and start time.
	b, err := os.ReadFile(filepath.Join(a.StateDir, "status.json"))
	if err != nil {
		t.Fatalf("status.json after kill -9: %v (it cannot be removed by a killed agent)", err)
	}
	var st status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if got, err := processStartTimeOf(st.PID); err == nil && got == st.StartTime {
		t.Errorf("after kill -9, pid %d has start time %d = status.json's: the stale file looks live", st.PID, got)
	}
}

// processStartTimeOf is field 22 of /proc/pid/stat: the check README's status.json
// section tells platforms to make.
func processStartTimeOf(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// TestAgentOOMScore: as root the agent makes itself an unlikely OOM victim, and its
// programs get the score it was started with (here 300, as a Kubernetes pod's QoS
// class would set it), which they cannot lower again. Lowering a score needs
// CAP_SYS_RESOURCE in the initial user namespace; where root has not got it (a
// container, this test's sandbox), the agent must say so and change nothing.
func TestAgentOOMScore(t *testing.T) {
	t.Parallel()
	canLower := exec.Command("sh", "-c", `echo -1 >/proc/self/oom_score_adj`).Run() == nil
	a := startAgent(t, agentOptions{Wrapper: []string{"sh", "-c", `echo 300 >/proc/self/oom_score_adj && exec "$0" "$@"`}})
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", a.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(b))
	if canLower {
		if got != "-900" {
			t.Errorf("agent's oom_score_adj = %s, want -900", got)
		}
	} else {
		t.Logf("root cannot lower oom_score_adj here (no CAP_SYS_RESOURCE in the initial user namespace): checking that the agent says so")
		if got != "300" || !strings.Contains(a.Logs(), "oom_score_adj left as it is: lowering it needs CAP_SYS_RESOURCE") {
			t.Errorf("agent's oom_score_adj = %s, want 300 kept and a log line saying why", got)
		}
	}
	out := a.Run(t, `cat /proc/self/oom_score_adj; sh -c 'cat /proc/self/oom_score_adj'; echo -900 >/proc/self/oom_score_adj 2>/dev/null && echo lowered; true`)
	if out != "300\n300\n" {
		t.Errorf("session's oom_score_adj (its own, its child's, lowered?): %q, want \"300\\n300\\n\"", out)
	}
}
