package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// entrypointTimeout bounds one run of entrypoint.sh: its own waits are 10 s to start
// jobsshd and 10 s to stop it.
const entrypointTimeout = 40 * time.Second

// entrypointShell is a shell entrypoint.sh must work under: Debian's /bin/sh, and the
// busybox sh of minimal images.
type entrypointShell struct {
	name string
	argv []string
	pkg  string
}

var entrypointShells = []entrypointShell{
	{"dash", []string{"dash"}, "dash"},
	{"busybox", []string{"busybox", "sh"}, "busybox-static"},
}

// forEachShell runs test once per shell, in parallel.
func forEachShell(t *testing.T, test func(t *testing.T, sh entrypointShell)) {
	for _, sh := range entrypointShells {
		t.Run(sh.name, func(t *testing.T) {
			t.Parallel()
			requireTool(t, sh.argv[0], sh.pkg)
			test(t, sh)
		})
	}
}

func entrypointScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "entrypoint.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// entrypointRun is one running entrypoint.sh.
type entrypointRun struct {
	cmd     *exec.Cmd
	stderr  lockedBuffer
	started time.Time
	done    chan struct{}
	err     error
}

// startEntrypoint runs `[wrapper...] SHELL entrypoint.sh sh -c SCRIPT sh ARGS...` with
// env over the test's environment (its JOBSSHD_* removed).
func startEntrypoint(t *testing.T, sh entrypointShell, env, wrapper []string, script string, args ...string) *entrypointRun {
	t.Helper()
	argv := append(append(append([]string{}, wrapper...), sh.argv...), entrypointScript(t), "sh", "-c", script, "sh")
	argv = append(argv, args...)
	r := &entrypointRun{done: make(chan struct{})}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.Env = agentEnv(env)
	r.cmd.Stderr = &r.stderr
	// A process entrypoint.sh failed to stop would hold stderr open and keep Wait from
	// returning; wait reports that instead of hanging.
	r.cmd.WaitDelay = 2 * time.Second
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(argv, " "), err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill() // the test failed before the run ended
			<-r.done
		}
	})
	return r
}

// wait returns the exit status of entrypoint.sh, failing the test when it does not end
// within entrypointTimeout or was killed.
func (r *entrypointRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(entrypointTimeout - time.Since(r.started)):
		t.Fatalf("entrypoint.sh still running after %v\nstderr:\n%s", entrypointTimeout, r.stderr.String())
	}
	var exitErr *exec.ExitError
	switch {
	case r.err == nil:
		return 0
	case errors.Is(r.err, exec.ErrWaitDelay):
		t.Errorf("a process entrypoint.sh started still holds its stderr after it exited")
		return r.cmd.ProcessState.ExitCode()
	case errors.As(r.err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode()
	default:
		t.Fatalf("entrypoint.sh: %v\nstderr:\n%s", r.err, r.stderr.String())
		return -1
	}
}

// waitForFile waits up to statusTimeout for path to exist.
func waitForFile(t *testing.T, path string, r *entrypointRun) {
	t.Helper()
	if !testwait.Until(statusTimeout, func() bool { _, err := os.Stat(path); return err == nil }) {
		t.Fatalf("%s not created within %v\nentrypoint stderr:\n%s", path, statusTimeout, r.stderr.String())
	}
}

func TestEntrypointExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"zero", "exit 0", 0},
		{"three", "exit 3", 3},
		{"killed by SIGKILL", "kill -KILL $$", 128 + 9},
		{"killed by SIGSEGV", "kill -SEGV $$", 128 + 11},
		{"command not found", "exec /nonexistent/job", 127},
	}
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := startEntrypoint(t, sh, nil, nil, tt.script)
				if got := r.wait(t); got != tt.want {
					t.Errorf("exit status %d, want %d\nstderr:\n%s", got, tt.want, r.stderr.String())
				}
			})
		}
	})
}

func TestEntrypointForwardsSignals(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		name string
		trap bool // the job traps the signal, writes a marker and exits 7
		want int
	}{
		{syscall.SIGTERM, "TERM", true, 7},
		{syscall.SIGINT, "INT", true, 7},
		{syscall.SIGHUP, "HUP", true, 7},
		{syscall.SIGTERM, "TERM", false, 128 + 15},
	}
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		for _, tt := range tests {
			t.Run(tt.name+"/trap="+strconv.FormatBool(tt.trap), func(t *testing.T) {
				dir := t.TempDir()
				marker, ready := filepath.Join(dir, "marker"), filepath.Join(dir, "ready")
				script := `: >"$2"; while :; do sleep 0.05; done`
				if tt.trap {
					script = `trap 'echo ` + tt.name + ` >"$1"; exit 7' ` + tt.name + `; ` + script
				}
				r := startEntrypoint(t, sh, nil, nil, script, marker, ready)
				waitForFile(t, ready, r)
				if err := r.cmd.Process.Signal(tt.sig); err != nil {
					t.Fatal(err)
				}
				if got := r.wait(t); got != tt.want {
					t.Errorf("exit status %d after SIG%s, want %d\nstderr:\n%s", got, tt.name, tt.want, r.stderr.String())
				}
				if !tt.trap {
					return
				}
				b, err := os.ReadFile(marker)
				if err != nil || strings.TrimSpace(string(b)) != tt.name {
					t.Errorf("the job's trap did not run: marker %q, %v", b, err)
				}
			})
		}
	})
}

func TestEntrypointStartsAndStopsJobsshd(t *testing.T) {
	requireTool(t, "ssh-keyscan", "openssh-client")
	acct := testAccount(t, defaultTestUser)
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir, stateDir := t.TempDir(), t.TempDir()
		const secret = "job-secret-value-not-for-command-lines"
		env := []string{
			"JOBSSHD_ENABLE=1",
			"JOBSSHD_BIN=" + binPath,
			"JOBSSHD_PORT=0",
			"JOBSSHD_STATE_DIR=" + stateDir,
			"JOBSSHD_USER=" + acct.Name,
			"JOBSSHD_ID_FILE=" + filepath.Join(accountTempDir(t, acct), "id_container"),
			"JOBSSHD_JOB_SECRET=" + secret,
		}
		// The job records its environment, then runs until the test releases it.
		script := `env >"$1/env"; : >"$1/ready"; i=0
			while [ ! -e "$1/release" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`
		r := startEntrypoint(t, sh, env, nil, script, dir)
		waitForFile(t, filepath.Join(dir, "ready"), r)

		b, err := os.ReadFile(filepath.Join(stateDir, "status.json"))
		if err != nil {
			t.Fatalf("jobsshd did not write status.json before the job started: %v\nstderr:\n%s", err, r.stderr.String())
		}
		var st status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("parse status.json: %v\n%s", err, b)
		}
		if !processAlive(st.PID, filepath.Base(binPath)) {
			t.Fatalf("status.json pid %d is not a running jobsshd while the job runs", st.PID)
		}
		if len(keyscan(t, st.Port)) == 0 {
			t.Errorf("ssh-keyscan found no host keys on port %d", st.Port)
		}
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); len(got) != 1 || got[0] != binPath {
			t.Errorf("jobsshd command line %q, want only %q (settings come from the environment)", got, binPath)
		}
		jobEnv, err := os.ReadFile(filepath.Join(dir, "env"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(jobEnv, []byte(secret)) {
			t.Errorf("the job's environment holds JOBSSHD_JOB_SECRET; only jobsshd needs it")
		}
		if !bytes.Contains(jobEnv, []byte("JOBSSHD_PORT=0\n")) {
			t.Errorf("the job's environment lost JOBSSHD_PORT:\n%s", jobEnv)
		}

		if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := r.wait(t); got != 0 {
			t.Errorf("exit status %d, want the job's 0\nstderr:\n%s", got, r.stderr.String())
		}
		// entrypoint.sh collected jobsshd before exiting; were it still running, it would
		// now belong to another parent and stay alive.
		if processAlive(st.PID, filepath.Base(binPath)) {
			t.Errorf("jobsshd (pid %d) still runs after the job ended", st.PID)
			_ = syscall.Kill(st.PID, syscall.SIGKILL)
		}
		if logs := r.stderr.String(); !strings.Contains(logs, "jobsshd is listening") || !strings.Contains(logs, "shutting down") {
			t.Errorf("stderr lacks jobsshd's start or shutdown:\n%s", logs)
		}
	})
}

// fakeJobsshd writes a shell script that stands for jobsshd and returns its path. As
// `jobsshd status` (entrypoint.sh's wait for it to listen) it runs the real one.
func fakeJobsshd(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-jobsshd")
	dispatch := `[ "$1" != status ] || exec "` + binPath + `" "$@"` + "\n"
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+dispatch+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeListening is the part of a fakeJobsshd that says it listens: the status.json of
// a running agent, its pid and start time (field 22 of /proc/$$/stat, which exec
// keeps), written whole as jobsshd writes it.
const fakeListening = `read -r s </proc/$$/stat; set -- ${s##*) }
	printf '{"pid": %s, "start_time": %s}\n' $$ "${20}" >"$JOBSSHD_STATE_DIR/status.json.tmp"
	mv "$JOBSSHD_STATE_DIR/status.json.tmp" "$JOBSSHD_STATE_DIR/status.json"`

func TestEntrypointJobsshdOnlyWhenEnabled(t *testing.T) {
	tests := []struct {
		enable  []string
		started bool
	}{
		{nil, false},
		{[]string{"JOBSSHD_ENABLE=0"}, false},
		{[]string{"JOBSSHD_ENABLE=yes"}, false}, // only 1 enables; the rest is logged
		{[]string{"JOBSSHD_ENABLE=1"}, true},
	}
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		for _, tt := range tests {
			t.Run(strings.Join(tt.enable, ","), func(t *testing.T) {
				marker := filepath.Join(t.TempDir(), "started")
				// Exits at once without status.json: the entrypoint logs that and runs the job.
				bin := fakeJobsshd(t, `: >"`+marker+`"`)
				env := append([]string{"JOBSSHD_BIN=" + bin, "JOBSSHD_STATE_DIR=" + t.TempDir()}, tt.enable...)
				r := startEntrypoint(t, sh, env, nil, "exit 4")
				if got := r.wait(t); got != 4 {
					t.Errorf("exit status %d, want the job's 4\nstderr:\n%s", got, r.stderr.String())
				}
				_, err := os.Stat(marker)
				if started := err == nil; started != tt.started {
					t.Errorf("jobsshd started: %v, want %v\nstderr:\n%s", started, tt.started, r.stderr.String())
				}
			})
		}
	})
}

func TestEntrypointJobsshdFails(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		for _, required := range []bool{false, true} {
			t.Run("required="+strconv.FormatBool(required), func(t *testing.T) {
				marker := filepath.Join(t.TempDir(), "job-ran")
				env := []string{
					"JOBSSHD_ENABLE=1",
					"JOBSSHD_BIN=" + binPath,
					"JOBSSHD_PORT=0",
					"JOBSSHD_STATE_DIR=" + t.TempDir(),
					"JOBSSHD_USER=no-such-account", // jobsshd exits 2 at once
				}
				if required {
					env = append(env, "JOBSSHD_REQUIRED=1")
				}
				r := startEntrypoint(t, sh, env, nil, `: >"$1"; exit 5`, marker)
				code := r.wait(t)
				// jobsshd's exit is noticed at once, not after the 10 s start timeout.
				if d := time.Since(r.started); d > 5*time.Second {
					t.Errorf("took %v; jobsshd's exit was not noticed while waiting", d)
				}
				_, err := os.Stat(marker)
				ran := err == nil
				if want := !required; ran != want {
					t.Errorf("job ran: %v, want %v", ran, want)
				}
				want := 5
				if required {
					want = 1
				}
				if code != want {
					t.Errorf("exit status %d, want %d", code, want)
				}
				if logs := r.stderr.String(); !strings.Contains(logs, "jobsshd exited with status 2 before listening") || !strings.Contains(logs, "no-such-account") {
					t.Errorf("stderr does not explain the failed start:\n%s", logs)
				}
			})
		}
	})
}

// TestEntrypointStartTimeout: a jobsshd that never writes status.json is given up on
// after the start timeout; with JOBSSHD_REQUIRED=1 it is stopped and the job never runs.
func TestEntrypointStartTimeout(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir := t.TempDir()
		pidFile, marker := filepath.Join(dir, "pid"), filepath.Join(dir, "job-ran")
		bin := fakeJobsshd(t, `echo $$ >"`+pidFile+`"; exec sleep 60`)
		env := []string{"JOBSSHD_ENABLE=1", "JOBSSHD_REQUIRED=1", "JOBSSHD_BIN=" + bin, "JOBSSHD_STATE_DIR=" + dir}
		r := startEntrypoint(t, sh, env, nil, `: >"$1"`, marker)
		if got := r.wait(t); got != 1 {
			t.Errorf("exit status %d, want 1\nstderr:\n%s", got, r.stderr.String())
		}
		if d := time.Since(r.started); d < 9*time.Second {
			t.Errorf("gave up after %v, want the 10 s start timeout", d)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("the job ran although jobsshd did not start and JOBSSHD_REQUIRED=1")
		}
		checkGone(t, pidFile, "sleep")
		if logs := r.stderr.String(); !strings.Contains(logs, "did not write") {
			t.Errorf("stderr does not explain the timeout:\n%s", logs)
		}
	})
}

// TestEntrypointKillsStubbornJobsshd: a jobsshd that ignores SIGTERM gets SIGKILL after
// the stop timeout instead of keeping the container alive.
func TestEntrypointKillsStubbornJobsshd(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "pid")
		bin := fakeJobsshd(t, `trap '' TERM; echo $$ >"`+pidFile+`"
			`+fakeListening+`; exec sleep 60`)
		env := []string{"JOBSSHD_ENABLE=1", "JOBSSHD_BIN=" + bin, "JOBSSHD_STATE_DIR=" + dir}
		r := startEntrypoint(t, sh, env, nil, "exit 6")
		if got := r.wait(t); got != 6 {
			t.Errorf("exit status %d, want the job's 6\nstderr:\n%s", got, r.stderr.String())
		}
		if d := time.Since(r.started); d < 9*time.Second || d > 20*time.Second {
			t.Errorf("stopped after %v, want the 10 s stop timeout", d)
		}
		checkGone(t, pidFile, "sleep")
		if logs := r.stderr.String(); !strings.Contains(logs, "sending SIGKILL") || !strings.Contains(logs, "status 137") {
			t.Errorf("stderr does not report the SIGKILL:\n%s", logs)
		}
	})
}

// TestEntrypointJobsshdDiesDuringJob: a jobsshd that dies while the job runs is reported
// when the job ends, and the job's status is kept.
func TestEntrypointJobsshdDiesDuringJob(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "pid")
		bin := fakeJobsshd(t, `echo $$ >"`+pidFile+`"
			`+fakeListening+`; exec sleep 60`)
		env := []string{"JOBSSHD_ENABLE=1", "JOBSSHD_BIN=" + bin, "JOBSSHD_STATE_DIR=" + dir}
		r := startEntrypoint(t, sh, env, nil, `kill -KILL "$(cat "$1")"; sleep 0.3; exit 3`, pidFile)
		if got := r.wait(t); got != 3 {
			t.Errorf("exit status %d, want the job's 3\nstderr:\n%s", got, r.stderr.String())
		}
		if logs := r.stderr.String(); !strings.Contains(logs, "jobsshd had exited with status 137 while the job ran") {
			t.Errorf("stderr does not report jobsshd's death:\n%s", logs)
		}
	})
}

// TestEntrypointSignalBeforeJob: SIGTERM while jobsshd starts stops it and exits 143
// without running the job (the container is being stopped).
func TestEntrypointSignalBeforeJob(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir := t.TempDir()
		pidFile, marker := filepath.Join(dir, "pid"), filepath.Join(dir, "job-ran")
		bin := fakeJobsshd(t, `echo $$ >"`+pidFile+`.tmp"; mv "`+pidFile+`.tmp" "`+pidFile+`"; exec sleep 60`)
		env := []string{"JOBSSHD_ENABLE=1", "JOBSSHD_BIN=" + bin, "JOBSSHD_STATE_DIR=" + dir}
		r := startEntrypoint(t, sh, env, nil, `: >"$1"`, marker)
		waitForFile(t, pidFile, r)
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if got := r.wait(t); got != 128+15 {
			t.Errorf("exit status %d, want 143\nstderr:\n%s", got, r.stderr.String())
		}
		if d := time.Since(r.started); d > 5*time.Second {
			t.Errorf("took %v; the signal was not acted on at once", d)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("the job ran after SIGTERM")
		}
		checkGone(t, pidFile, "sleep")
	})
}

// checkGone fails the test when the process whose pid is in pidFile still runs as comm.
func checkGone(t *testing.T, pidFile, comm string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the fake jobsshd never ran: %v", err)
	}
	pid := atoiOrFatal(t, string(b))
	if processAlive(pid, comm) {
		t.Errorf("the fake jobsshd (pid %d) still runs after entrypoint.sh exited", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// zombieScanScript is a job that makes an orphan and reports whether its PID namespace
// holds zombies once the orphan has exited. The orphan records its parent just before it
// exits: 1 proves it was handed to PID 1 (not collected by its own parent). The scan
// allows PID 1 two seconds to collect it, so only a PID 1 that never does shows one.
const zombieScanScript = `
dir=$1
sh -c '(sleep 0.3; read -r s </proc/self/stat; echo "${s##*) }" >"$1/orphan"; ) &' sh "$dir"
i=0
while [ ! -s "$dir/orphan" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
i=0
while :; do
	zombies= procs=0
	for f in /proc/[0-9]*/stat; do
		read -r s <"$f" || continue
		procs=$((procs+1))
		st=${s##*) }
		[ "${st%% *}" = Z ] && zombies="$zombies [$s]"
	done
	if [ -z "$zombies" ] || [ $i -ge 20 ]; then break; fi
	sleep 0.1; i=$((i+1))
done
read -r pid1 </proc/1/stat
echo "procs=$procs pid1=[$pid1] zombies=$zombies" >"$dir/scan.tmp"
mv "$dir/scan.tmp" "$dir/scan"
`

// runZombieScan runs zombieScanScript under pid1 (a command that runs the script given
// after it) as PID 1 of a new PID namespace and returns what the scan found.
func runZombieScan(t *testing.T, pid1 []string) (scan, orphan string) {
	t.Helper()
	requireTool(t, "unshare", "util-linux")
	dir := t.TempDir()
	argv := append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, pid1...)
	argv = append(argv, "sh", "-c", zombieScanScript, "sh", dir)
	ctx, cancel := context.WithTimeout(context.Background(), entrypointTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = agentEnv(nil)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A PID 1 that does not reap may never end (the control below): read the scan, then
	// end the namespace (--kill-child).
	ok := testwait.Until(entrypointTimeout/2, func() bool { _, err := os.Stat(filepath.Join(dir, "scan")); return err == nil })
	// unshare blocks SIGTERM while it waits for PID 1; SIGKILL ends it, and --kill-child
	// then PID 1 and the namespace. It is already gone when PID 1 ended with the job.
	_ = cmd.Process.Kill()
	_ = cmd.Wait() // its status is the job's or the signal; not the subject here
	if !ok {
		t.Fatalf("the scan did not finish\nstderr:\n%s", stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "scan"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := os.ReadFile(filepath.Join(dir, "orphan"))
	if err != nil {
		t.Fatalf("the orphan never ran to its end: %v\nstderr:\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(b)), strings.TrimSpace(string(o))
}

func TestEntrypointReapsOrphansAsPID1(t *testing.T) {
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		scan, orphan := runZombieScan(t, append(append([]string{}, sh.argv...), entrypointScript(t)))
		if f := strings.Fields(orphan); len(f) < 2 || f[1] != "1" {
			t.Fatalf("orphan's parent was %q, want PID 1 (state and ppid: %q)", f, orphan)
		}
		if !strings.Contains(scan, "pid1=[1 ("+sh.argv[0]+") ") {
			t.Errorf("PID 1 is not the entrypoint's shell: %s", scan)
		}
		if !strings.HasSuffix(scan, "zombies=") {
			t.Errorf("zombies in the job's PID namespace: %s", scan)
		}
	})
}

// TestZombieScanDetectsZombies is the control for TestEntrypointReapsOrphansAsPID1: the
// same scan under a PID 1 that never waits (sleep) must find the orphan's zombie.
func TestZombieScanDetectsZombies(t *testing.T) {
	t.Parallel()
	scan, _ := runZombieScan(t, []string{"sh", "-c", `"$@" & exec sleep 30`, "sh"})
	if !strings.Contains(scan, " Z ") {
		t.Errorf("scan under a non-reaping PID 1 found no zombie: %s", scan)
	}
}
