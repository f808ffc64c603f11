package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"jobsshd/internal/testwait"
)

// TestEntrypointHangup: a SIGHUP to the container's process group (a closing terminal
// of `docker run -it`) reaches entrypoint.sh, the job and jobsshd: the job gets it (as
// its own and as forwarded by the script), and jobsshd reloads and goes on serving
// instead of dying (issue 10, item 11). entrypoint.sh itself forwards SIGHUP to the job
// only; a reload of jobsshd alone is `kill -HUP <pid from status.json>`.
func TestEntrypointHangup(t *testing.T) {
	requireTool(t, "setsid", "util-linux")
	acct := testAccount(t, defaultTestUser)
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir, stateDir := t.TempDir(), t.TempDir()
		env := []string{
			"JOBSSHD_ENABLE=1",
			"JOBSSHD_BIN=" + binPath,
			"JOBSSHD_PORT=0",
			"JOBSSHD_BIND=127.0.0.1",
			"JOBSSHD_STATE_DIR=" + stateDir,
			"JOBSSHD_USER=" + acct.Name,
			"JOBSSHD_ID_FILE=" + filepath.Join(accountTempDir(t, acct), "id_container"),
		}
		script := `trap 'echo hup >>"$1/hup"' HUP; : >"$1/ready"; i=0
			while [ ! -e "$1/release" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`
		// setsid: the script leads a process group of its own, as PID 1 of a container.
		r := startEntrypoint(t, sh, env, []string{"setsid"}, script, dir)
		waitForFile(t, filepath.Join(dir, "ready"), r)
		b, err := os.ReadFile(filepath.Join(stateDir, "status.json"))
		if err != nil {
			t.Fatalf("status.json: %v", err)
		}
		var st status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}

		if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP to the process group: %v", err)
		}
		if !testwait.Until(hangupTimeout, func() bool { return strings.Contains(r.stderr.String(), "reload (SIGHUP)") }) {
			t.Errorf("jobsshd logged no reload after the group's SIGHUP\nstderr:\n%s", r.stderr.String())
		}
		waitForFile(t, filepath.Join(dir, "hup"), r)
		if !processAlive(st.PID, filepath.Base(binPath)) {
			t.Errorf("jobsshd (pid %d) died of SIGHUP\nstderr:\n%s", st.PID, r.stderr.String())
		}
		if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := r.wait(t); got != 0 {
			t.Errorf("exit status %d, want the job's 0\nstderr:\n%s", got, r.stderr.String())
		}
		if logs := r.stderr.String(); !strings.Contains(logs, "shutting down") || strings.Contains(logs, "exited with status") {
			t.Errorf("jobsshd did not shut down cleanly at the end of the job:\n%s", logs)
		}
	})
}
