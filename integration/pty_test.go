package integration

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestPtyShellOpenSSH types commands into a login shell through `ssh -tt` with stdin
// from a pipe, the way scripts drive interactive shells.
func TestPtyShellOpenSSH(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	input := strings.Join([]string{
		"echo hi-$((40+2))",
		"echo LOGIN=$(shopt -q login_shell && echo y || echo n)",
		"echo TTY=$SSH_TTY",
		"exit 7",
	}, "\n") + "\n"
	res := a.SSH(t, sshCall{Opts: []string{"-tt"}, Stdin: strings.NewReader(input)})
	if res.ExitCode != 7 {
		t.Errorf("shell ended with 'exit 7': got exit %d, want 7 (stdout %q, stderr %q)", res.ExitCode, res.Stdout, res.Stderr)
	}
	// The terminal echoes the typed lines; the patterns below only match the output.
	for _, want := range []string{`hi-42\r\n`, `LOGIN=y\r\n`, `TTY=/dev/pts/\d+\r\n`} {
		if !regexp.MustCompile(want).MatchString(res.Stdout) {
			t.Errorf("shell output %q does not match %q", res.Stdout, want)
		}
	}
}

// TestPtyHangupOnDisconnect kills the client of a pty session: the session's processes
// (the shell and its child) must be hung up, not left running.
func TestPtyHangupOnDisconnect(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	requireTool(t, "ssh", "openssh-client")
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", a.sshArgs(sshCall{
		Opts:    []string{"-tt"},
		Command: `sleep 300 & echo "pids $$ $!"; wait`,
	})...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe() // keep stdin open: the client only goes away when killed
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ssh: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := readLineMatching(stdout, regexp.MustCompile(`pids (\d+) (\d+)`), 20*time.Second)
	if err != nil {
		t.Fatalf("waiting for the session's pids: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "pids ")) {
		pids = append(pids, atoiOrFatal(t, f))
	}
	shell, sleep := pids[0], pids[1]
	t.Cleanup(func() {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL) // only if the agent left them behind
		}
	})
	// $! may still be the forked shell for a moment, before it execs sleep.
	if !testwait.Until(5*time.Second, func() bool { return processAlive(shell, "bash") && processAlive(sleep, "sleep") }) {
		t.Fatalf("session processes %v not running before the disconnect", pids)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill ssh client: %v", err)
	}
	_ = cmd.Wait() // killed: the error is expected
	if !testwait.Until(10*time.Second, func() bool { return !processAlive(shell, "bash") && !processAlive(sleep, "sleep") }) {
		t.Errorf("10s after the client was killed: shell pid %d alive=%v, its child sleep pid %d alive=%v; want both hung up",
			shell, processAlive(shell, "bash"), sleep, processAlive(sleep, "sleep"))
	}
}

// readLineMatching reads lines from r until one matches re, bounded by timeout. The
// reader goroutine ends when r is closed (its process exits or is killed).
func readLineMatching(r io.Reader, re *regexp.Regexp, timeout time.Duration) (string, error) {
	lines := make(chan string)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				_, _ = io.Copy(io.Discard, r) // keep draining so the writer never blocks
				return
			}
		}
	}()
	var seen []string
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return "", &lineError{"output ended", seen}
			}
			if m := re.FindString(line); m != "" {
				return m, nil
			}
			seen = append(seen, line)
		case <-timer.C:
			return "", &lineError{"timed out after " + timeout.String(), seen}
		}
	}
}

type lineError struct {
	what string
	seen []string
}

func (e *lineError) Error() string {
	return e.what + "; lines so far: " + strconv.Quote(strings.Join(e.seen, "\n"))
}

// TestPtyOutputComplete: a pty command's output is drained to the end before the exit
// status, and the exit status is the command's.
func TestPtyOutputComplete(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	var want strings.Builder
	for i := 1; i <= 100000; i++ {
		want.WriteString(strconv.Itoa(i) + "\r\n")
	}
	for i := range 5 {
		res := a.SSH(t, sshCall{Opts: []string{"-tt"}, Command: "seq 1 100000; exit 5"})
		if res.ExitCode != 5 || res.Stdout != want.String() {
			t.Fatalf("run %d of 'seq 1 100000; exit 5' under a pty: exit %d, %d bytes (want %d), ending %q",
				i, res.ExitCode, len(res.Stdout), want.Len(), tail(res.Stdout, 20))
		}
	}
}
