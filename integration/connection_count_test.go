package integration

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestClosedConnectionsDoNotCount: a connection whose client is gone no longer counts
// against --max-connections, even while the program it started ignores the hangup and
// keeps running (issue 10, item 3); nor does its session count against --max-channels.
// With a limit of 4, five clients in turn start `trap "" HUP; exec sleep 90` and are
// killed; then a sixth logs in and runs a command.
func TestClosedConnectionsDoNotCount(t *testing.T) {
	t.Parallel()
	requireTool(t, "ssh", "openssh-client")
	for _, limit := range []string{"--max-connections", "--max-channels"} {
		t.Run(limit, func(t *testing.T) {
			t.Parallel()
			closedConnectionsDoNotCount(t, startAgent(t, agentOptions{Args: []string{limit, "4"}}))
		})
	}
}

func closedConnectionsDoNotCount(t *testing.T, a *agent) {
	var left []int
	t.Cleanup(func() { // before the agent stops (cleanups run last first)
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
		cmd := exec.CommandContext(ctx, "ssh", a.sshArgs(sshCall{Command: `trap '' HUP; echo $$; exec sleep 90`})...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		pid, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			cancel()
			_ = cmd.Wait()
			t.Fatalf("client %d: got %q (%s), want the pid of its program: the agent counted the closed connections\n%s", i, line, stderr.String(), a.Logs())
		}
		left = append(left, pid)
		_ = cmd.Process.Kill() // the client vanishes; its program ignores the hangup
		_ = cmd.Wait()
		cancel()
		if !testwait.Until(5*time.Second, func() bool { return processAlive(pid, "sleep") }) {
			t.Fatalf("client %d: its program %d is not running sleep", i, pid)
		}
	}
	if got := a.Run(t, "echo in"); got != "in\n" {
		t.Errorf("after five closed connections with a limit of 4: got %q, want \"in\\n\"", got)
	}
	for _, pid := range left {
		if !processAlive(pid, "sleep") {
			t.Errorf("program %d that ignored the hangup was killed; it is the account's to keep", pid)
		}
	}
}
