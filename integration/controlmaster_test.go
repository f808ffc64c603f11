package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestControlMaster runs 8 concurrent sessions over one OpenSSH ControlMaster connection
// (many channels on one connection, as VS Code and `ssh -O` users do), then stops the
// master with `ssh -O exit`.
func TestControlMaster(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	requireTool(t, "ssh", "openssh-client")

	// A unix socket path must stay under 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "jobsshd-cm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	controlPath := filepath.Join(dir, "mux")
	dest := a.Account.Name + "@127.0.0.1"

	control, masterPID := startControlMaster(t, a, dir, controlPath, dest)

	// The sessions use a key the agent does not accept: if ssh fell back to a direct
	// connection instead of the master, authentication would fail.
	unauthorized := newClientKey(t, "not-authorized")
	const n = 8
	inputs := randomInputs(t, n, 512<<10)
	results := a.concurrentSSH(t, n, func(i int, barrier string) sshCall {
		return sshCall{
			Key:     unauthorized,
			Opts:    []string{"-o", "ControlMaster=no", "-o", "ControlPath=" + controlPath},
			Command: fmt.Sprintf("%s; sha256sum; echo session-%d; exit %d", barrier, i, i),
			Stdin:   bytes.NewReader(inputs[i]),
		}
	})
	for i, res := range results {
		sum := sha256.Sum256(inputs[i])
		want := hex.EncodeToString(sum[:]) + "  -\nsession-" + strconv.Itoa(i) + "\n"
		if res.ExitCode != i || res.Stdout != want {
			t.Errorf("session %d over the master: got %s, want exit %d, stdout %q", i, res, i, want)
		}
	}

	if out, err := control("check"); err != nil {
		t.Errorf("ssh -O check after the sessions: %v, %q; want the master still running", err, out)
	}
	if out, err := control("exit"); err != nil {
		t.Errorf("ssh -O exit: %v, %q", err, out)
	}
	if !testwait.Until(10*time.Second, func() bool { return !processAlive(masterPID, "ssh") }) {
		t.Errorf("ControlMaster pid %d still running 10s after ssh -O exit", masterPID)
	}
}

// startControlMaster starts an OpenSSH ControlMaster for dest on the agent a, its
// socket at controlPath and its log in dir. It returns a runner of `ssh -O op` and the
// master's pid, which cleanup kills if it is still running.
func startControlMaster(t *testing.T, a *agent, dir, controlPath, dest string) (control func(op string) (string, error), masterPID int) {
	t.Helper()
	// -f backgrounds the master after authentication; its stderr goes to a file, since a
	// pipe would keep exec.Cmd.Wait waiting for the background master.
	masterLog, err := os.Create(filepath.Join(dir, "master.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer masterLog.Close()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	start := exec.CommandContext(ctx, "ssh", append(hermeticSSHOptions(a.IDFile, a.Port),
		"-o", "ControlMaster=yes", "-o", "ControlPath="+controlPath, "-o", "ControlPersist=120",
		"-N", "-f", dest)...)
	start.Stderr = masterLog
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(masterLog.Name())
		t.Fatalf("start ControlMaster: %v\n%s", err, b)
	}

	control = func(op string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-o", "ControlPath="+controlPath,
			"-O", op, dest).CombinedOutput()
		return string(out), err
	}
	out, err := control("check")
	m := regexp.MustCompile(`Master running \(pid=(\d+)\)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("ssh -O check: %v, %q; want \"Master running (pid=N)\"", err, out)
	}
	masterPID, _ = strconv.Atoi(m[1])
	t.Cleanup(func() {
		if processAlive(masterPID, "ssh") {
			_ = syscall.Kill(masterPID, syscall.SIGKILL) // the test already failed or is failing
		}
	})
	return control, masterPID
}
