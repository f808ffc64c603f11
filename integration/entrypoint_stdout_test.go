package integration

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEntrypointStdoutIsTheJobs: with jobsshd beside it, `echo x | entrypoint.sh cat`
// prints exactly x. The job's stdout belongs to the job (issue 13, finding 2): jobsshd
// inherits entrypoint.sh's stdout, so its start-up text must go to stderr.
func TestEntrypointStdoutIsTheJobs(t *testing.T) {
	acct := testAccount(t, defaultTestUser)
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		ctx, cancel := context.WithTimeout(context.Background(), entrypointTimeout)
		defer cancel()
		argv := append(append([]string{}, sh.argv...), entrypointScript(t), "cat")
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = agentEnv([]string{
			"JOBSSHD_ENABLE=1",
			"JOBSSHD_REQUIRED=1", // the job runs only after jobsshd listens
			"JOBSSHD_BIN=" + binPath,
			"JOBSSHD_PORT=0",
			"JOBSSHD_BIND=127.0.0.1",
			"JOBSSHD_STATE_DIR=" + t.TempDir(),
			"JOBSSHD_USER=" + acct.Name,
			"JOBSSHD_ID_FILE=" + filepath.Join(accountTempDir(t, acct), "id_container"),
		})
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader("x\n"), &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("echo x | entrypoint.sh cat: %v\nstderr:\n%s", err, stderr.String())
		}
		if got := stdout.String(); got != "x\n" {
			t.Errorf("stdout %q, want only the job's %q\nstderr:\n%s", got, "x\n", stderr.String())
		}
		if !strings.Contains(stderr.String(), "jobsshd is serving "+acct.Name) {
			t.Errorf("stderr lacks jobsshd's start-up text:\n%s", stderr.String())
		}
	})
}
