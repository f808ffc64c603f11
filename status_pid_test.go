//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// exitedBeforeReady is what a wait ended by the agent's exit says.
const exitedBeforeReady = "exited before it was ready"

// startChild starts a process that runs until its stdin is closed; stop closes it
// and collects the process, so that its pid is gone.
func startChild(t *testing.T) (pid int, stop func()) {
	t.Helper()
	cmd := exec.Command("cat")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		in.Close()
		_ = cmd.Wait() // cat's status is not the subject
	}
	t.Cleanup(stop)
	return cmd.Process.Pid, stop
}

// TestStatusWaitEndsWhenThePIDExits: status --wait --pid N, with an hour to wait and
// no status.json, stops as soon as process N is gone, and says so.
func TestStatusWaitEndsWhenThePIDExits(t *testing.T) {
	t.Parallel()
	pid, stop := startChild(t)
	sleeps := 0
	sleep := func(time.Duration) {
		switch sleeps++; sleeps {
		case 1:
			stop() // the agent exits while the wait sleeps
		case 2:
			t.Fatal("status --wait slept again after the pid exited")
		}
	}
	o := statusOptions{wait: true, timeout: time.Hour, stateDir: filepath.Join(t.TempDir(), "state"), pid: pid}
	_, err := awaitStatus(o, os.Geteuid(), time.Now, sleep)
	if want := "pid " + strconv.Itoa(pid) + ") " + exitedBeforeReady; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error with %q", err, want)
	}
	if sleeps != 1 {
		t.Errorf("%d sleeps, want 1: the poll after the exit ends the wait", sleeps)
	}
}

// TestStatusWaitEndsOnAZombie: a waiter that is not the agent's parent cannot collect
// it, and the exited agent stays a zombie (its pid still answers kill -0) until its
// parent waits; status --wait --pid takes the zombie for an exit. Here the test, the
// parent, does not wait for the child until the end.
func TestStatusWaitEndsOnAZombie(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Wait() })
	pid := cmd.Process.Pid
	if !testwait.Until(10*time.Second, func() bool { return procState(pid) == "Z" }) {
		t.Fatalf("pid %d is in state %q, want a zombie (Z)", pid, procState(pid))
	}
	o := statusOptions{wait: true, timeout: time.Hour, stateDir: filepath.Join(t.TempDir(), "state"), pid: pid}
	sleep := func(time.Duration) { t.Fatal("status --wait slept: the zombie was taken for a live agent") }
	if _, err := awaitStatus(o, os.Geteuid(), time.Now, sleep); err == nil || !strings.Contains(err.Error(), exitedBeforeReady) {
		t.Fatalf("got %v, want an error with %q", err, exitedBeforeReady)
	}
}

// procState is field 3 of /proc/pid/stat, "" when unreadable.
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// TestStatusPID: the command's exit status and message, and that only pid N's
// status.json counts: a running agent's file naming another pid keeps the wait going
// (until the timeout here), while a live pid N without a file is not an exit. With
// --listening the wait ends once the agent listens, before what else --wait awaits
// (id_container here: TestStatusCommand's "no key, --wait times out").
func TestStatusPID(t *testing.T) {
	t.Parallel()
	gone, stop := startChild(t)
	stop()
	live, _ := startChild(t)
	self := strconv.Itoa(os.Getpid())
	running := writeTestStatus(t, os.Getpid(), true)
	noKey := writeTestStatus(t, os.Getpid(), false)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"the pid is gone", []string{"--wait", "--timeout", "10s", "--pid", strconv.Itoa(gone), "--state-dir", filepath.Join(t.TempDir(), "none")},
			exitFailure, "jobsshd (pid " + strconv.Itoa(gone) + ") " + exitedBeforeReady},
		{"its status.json", []string{"--wait", "--pid", self, "--state-dir", running}, exitOK, ""},
		{"another pid's status.json", []string{"--wait", "--timeout", "30ms", "--pid", strconv.Itoa(live), "--state-dir", running},
			exitFailure, "names pid " + self + ", not " + strconv.Itoa(live)},
		{"no status.json yet", []string{"--wait", "--timeout", "30ms", "--pid", strconv.Itoa(live), "--state-dir", filepath.Join(t.TempDir(), "none")},
			exitFailure, "runs but has not written"},
		{"--listening: before id_container", []string{"--wait", "--listening", "--timeout", "30ms", "--pid", self, "--state-dir", noKey}, exitOK, ""},
		{"a negative pid", []string{"--pid", "-1"}, exitUsage, "--pid -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := statusCommand(tt.args, func(string) string { return "" }, io.Discard, &stderr); got != tt.want {
				t.Errorf("exit status %d, want %d; stderr: %s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q, want %q in it", stderr.String(), tt.wantStderr)
			}
		})
	}
}
