package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStopAsSoonAsListening stops the agent the moment status.json appears, as a
// platform that starts and stops it by script may: the signal must be a clean stop
// (exit 0, status.json removed), however early it comes. SIGTERM used to be caught only
// after Listen had written status.json, and one sent in between killed the agent by the
// default action, leaving status.json behind.
func TestStopAsSoonAsListening(t *testing.T) {
	acct := testAccount(t, defaultTestUser)
	idDir := accountTempDir(t, acct)
	for i := range 20 {
		state := filepath.Join(t.TempDir(), "state")
		cmd := exec.Command(binPath, "--user", acct.Name, "--bind", "127.0.0.1", "--port", "0",
			"--state-dir", state, "--id-file", filepath.Join(idDir, "id_container"))
		cmd.Env = agentEnv(nil)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start jobsshd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		status := filepath.Join(state, "status.json")
		// Polled far faster than waitFor does, to signal as close to the write as a
		// platform watching the file with inotify would.
		for deadline := time.Now().Add(statusTimeout); ; time.Sleep(100 * time.Microsecond) {
			if _, err := os.Stat(status); err == nil {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: no %s after %v", i, status, statusTimeout)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("round %d: signal: %v", i, err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("round %d: jobsshd stopped at once after status.json: %v, want exit 0", i, err)
			}
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			t.Fatalf("round %d: jobsshd did not exit within %v of SIGTERM", i, stopTimeout)
		}
		if _, err := os.Stat(status); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("round %d: status.json after a clean stop: %v, want it removed", i, err)
		}
	}
}
