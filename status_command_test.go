//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"jobsshd/agent"
	"jobsshd/internal/testenv"
)

// selfStartTime is field 22 of /proc/self/stat: a status.json naming this process
// names a running "agent".
func selfStartTime(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// writeTestStatus writes a status.json into a fresh state dir, for this process, with
// its id_container in dir when withID; it returns the state dir.
func writeTestStatus(t *testing.T, pid int, withID bool) string {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	id := filepath.Join(dir, "id_container")
	if withID {
		if err := os.WriteFile(id, []byte("key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st := agent.Status{PID: pid, Port: 2222, User: "work", ConnectHost: "job", IDFile: id, IDFilePPK: id + ".ppk",
		StartTime: selfStartTime(t), Version: "test",
		HostKeys: []agent.StatusHostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:x", PublicKey: "ssh-ed25519 AAAAtest"}},
		Live:     agent.StatusLive{Connections: 2, Sessions: 1, LastActivity: "2026-12-06T06:00:00Z"}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, agent.StatusFileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return state
}

func TestStatusCommand(t *testing.T) {
	t.Parallel()
	running := writeTestStatus(t, os.Getpid(), true)
	noKey := writeTestStatus(t, os.Getpid(), false)
	stale := writeTestStatus(t, 1<<30, true) // no such pid
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout []string
		wantStderr string
	}{
		{"running", []string{"--state-dir", running}, exitOK,
			[]string{"ssh -i id_container -p 2222 work@job", "[job]:2222 ssh-ed25519 AAAAtest", "connections: 2, sessions: 1, last activity 2026-12-06T06:00:00Z"}, ""},
		{"json", []string{"--json", "--state-dir", running}, exitOK, []string{`"connections": 2`, `"public_key": "ssh-ed25519 AAAAtest"`}, ""},
		{"not running", []string{"--state-dir", filepath.Join(t.TempDir(), "none")}, exitFailure, nil, "jobsshd is not running"},
		{"stale file", []string{"--state-dir", stale}, exitFailure, nil, "is gone: start jobsshd again"},
		{"no key yet, without --wait", []string{"--state-dir", noKey}, exitOK, []string{"ssh -i id_container"}, ""},
		{"no key, --wait times out", []string{"--wait", "--timeout", "50ms", "--state-dir", noKey}, exitFailure, nil, "waited 50ms: jobsshd runs, but its key"},
		{"extra argument", []string{"now"}, exitUsage, nil, `unexpected argument "now"`},
		{"zero timeout", []string{"--timeout", "0s"}, exitUsage, nil, "--timeout 0s: give a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			got := run(append([]string{"status"}, tt.args...), func(string) string { return "" }, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit %d, want %d\nstderr: %s", got, tt.want, stderr.String())
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q, want %q in it", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// TestStatusWaitsForTheFile: status --wait started before status.json exists returns
// once it appears. The file appears only from the waiter's first sleep, so the waiter
// has looked and found nothing before it does.
func TestStatusWaitsForTheFile(t *testing.T) {
	t.Parallel()
	ready := writeTestStatus(t, os.Getpid(), true)
	state := filepath.Join(t.TempDir(), "state") // not there yet
	sleeps := 0
	sleep := func(time.Duration) {
		if sleeps++; sleeps == 1 {
			if err := os.Rename(ready, state); err != nil {
				t.Error(err)
			}
		}
	}
	o := statusOptions{wait: true, timeout: 30 * time.Second, stateDir: state}
	st, err := awaitStatus(o, os.Geteuid(), time.Now, sleep)
	if err != nil {
		t.Fatalf("status --wait: %v", err)
	}
	if sleeps != 1 || st.PID != os.Getpid() {
		t.Errorf("status --wait: %d sleeps, pid %d; want 1 sleep (the file appears during it), pid %d", sleeps, st.PID, os.Getpid())
	}
}

// TestStatusTextHasNoControlCharacters: status.json may be written by the account the
// agent runs as (an agent run as the user), and root may read it with `jobsshd status`;
// a terminal escape sequence in one of its strings must not reach root's terminal.
func TestStatusTextHasNoControlCharacters(t *testing.T) {
	t.Parallel()
	state := writeTestStatus(t, os.Getpid(), true)
	path := filepath.Join(state, agent.StatusFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st agent.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	evil := "work\x1b]0;owned\x07\x1b[2J\r\u009b31m\x7f"
	st.User, st.Version, st.ConnectHost = evil, evil, evil
	st.HostKeys[0].PublicKey = evil
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if got := run([]string{"status", "--state-dir", state}, func(string) string { return "" }, &stdout, &stderr); got != exitOK {
		t.Fatalf("exit %d, want 0\n%s", got, stderr.String())
	}
	for _, r := range stdout.String() {
		if r != '\n' && unicode.IsControl(r) {
			t.Fatalf("stdout holds control character %U:\n%q", r, stdout.String())
		}
	}
	if !strings.Contains(stdout.String(), "work?]0;owned?") {
		t.Errorf("stdout %q: want the user name with its control characters replaced by '?'", stdout.String())
	}
	stdout.Reset()
	if got := run([]string{"status", "--json", "--state-dir", state}, func(string) string { return "" }, &stdout, &stderr); got != exitOK {
		t.Fatalf("--json: exit %d, want 0\n%s", got, stderr.String())
	}
	for _, r := range stdout.String() {
		if r != '\n' && unicode.IsControl(r) {
			t.Fatalf("--json: stdout holds control character %U:\n%q", r, stdout.String())
		}
	}
	var back agent.Status
	if err := json.Unmarshal(stdout.Bytes(), &back); err != nil || back.User != evil {
		t.Errorf("--json: user %q (%v), want %q back: escaped, not changed", back.User, err, evil)
	}
}

// TestStatusRefusesAnotherUsersPid: as root, a status.json in a state directory of
// another uid (an agent run as that user, who may write any pid there) that names a
// root process, with its true start time, is no running agent: that user's agent
// would run as its uid.
func TestStatusRefusesAnotherUsersPid(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t, "a state directory of another uid")
	state := writeTestStatus(t, os.Getpid(), true)
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	got := run([]string{"status", "--state-dir", state}, func(string) string { return "" }, &stdout, &stderr)
	if got != exitFailure || !strings.Contains(stderr.String(), "runs as uid 0, not as uid 65534") {
		t.Errorf("status on a user's directory naming a root pid: exit %d, stderr %q; want exit %d naming both uids", got, stderr.String(), exitFailure)
	}
}
