package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInheritedDescriptorsStayOutOfSessions: a descriptor the agent inherited from its
// parent (here `exec 7<root-only-file jobsshd ...`) does not reach a user's session,
// which could otherwise read a file only root may open (issue 10, item 8).
func TestInheritedDescriptorsStayOutOfSessions(t *testing.T) {
	t.Parallel()
	const secret = "ROOT-ONLY-SECRET-7c1e"
	file := filepath.Join(t.TempDir(), "root-only")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, agentOptions{Wrapper: []string{"sh", "-c", `exec 7<"$JOBSSHD_TEST_FD_FILE" 8>>/dev/null; exec "$0" "$@"`},
		Env: []string{"JOBSSHD_TEST_FD_FILE=" + file}})
	// The agent itself still has them (it only marked them close-on-exec).
	if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/7", a.cmd.Process.Pid)); err != nil || target != file {
		t.Fatalf("agent's fd 7 = %q, %v; want %s (the wrapper did not pass it?)", target, err, file)
	}
	res := a.SSH(t, sshCall{Command: `cat <&7; for fd in 7 8; do [ -e /proc/$$/fd/$fd ] && echo "fd $fd open"; done; true`})
	if strings.Contains(res.Stdout, secret) || strings.Contains(res.Stdout, "open") {
		t.Errorf("session read inherited descriptors: %s", res)
	}
	if !strings.Contains(res.Stderr, "Bad file descriptor") {
		t.Errorf("cat <&7 in the session: %s; want a bad file descriptor error", res)
	}
}
