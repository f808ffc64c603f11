package integration

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestExecExitCode(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	tests := []struct {
		name    string
		command string
		want    int
	}{
		{name: "success", command: "true", want: 0},
		{name: "exit 3", command: "exit 3", want: 3},
		{name: "false", command: "false", want: 1},
		{name: "command not found", command: "no-such-command-jobsshd", want: 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := a.SSH(t, sshCall{Command: tt.command})
			if res.ExitCode != tt.want {
				t.Errorf("ssh %q: got %s, want exit %d", tt.command, res, tt.want)
			}
		})
	}
}

func TestExecStdoutStderrSeparated(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := a.SSH(t, sshCall{Command: "echo to-stdout; echo to-stderr >&2; echo more-stdout"})
	if res.ExitCode != 0 || res.Stdout != "to-stdout\nmore-stdout\n" || res.Stderr != "to-stderr\n" {
		t.Errorf("got %s, want exit 0, stdout %q, stderr %q", res, "to-stdout\nmore-stdout\n", "to-stderr\n")
	}
}

// TestExecStdinRoundTrip pipes 8 MiB of random bytes through cat: flow control, EOF
// propagation to the command, and no output lost at the end of the command.
func TestExecStdinRoundTrip(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	in := make([]byte, 8<<20)
	if _, err := rand.Read(in); err != nil {
		t.Fatal(err)
	}
	res := a.SSH(t, sshCall{Command: "cat", Stdin: bytes.NewReader(in)})
	if res.ExitCode != 0 {
		t.Fatalf("ssh cat: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	if got, want := sha256.Sum256([]byte(res.Stdout)), sha256.Sum256(in); got != want {
		t.Errorf("cat returned %d bytes with sha256 %x, want %d bytes with sha256 %x",
			len(res.Stdout), got, len(in), want)
	}
}

// TestExecLargeOutputComplete checks that output written just before the command exits
// is not lost (the teardown order: drain output, EOF, exit-status, close).
func TestExecLargeOutputComplete(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	var want strings.Builder
	for i := 1; i <= 200000; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	for i := range 5 {
		res := a.SSH(t, sshCall{Command: "seq 1 200000; echo tail-on-stderr >&2"})
		if res.ExitCode != 0 || res.Stdout != want.String() || res.Stderr != "tail-on-stderr\n" {
			t.Fatalf("run %d: exit %d, %d bytes of stdout (want %d), stdout ends %q, stderr %q",
				i, res.ExitCode, len(res.Stdout), want.Len(), tail(res.Stdout, 20), res.Stderr)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestExecExitSignal: a command killed by a signal reports exit-signal, which OpenSSH's
// client shows as exit code 255 (the paramiko test checks the signal name itself).
func TestExecExitSignal(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := a.SSH(t, sshCall{Command: "echo started; kill -9 $$"})
	if res.ExitCode != 255 || res.Stdout != "started\n" {
		t.Errorf("ssh 'kill -9 $$': got %s, want exit 255 and stdout %q", res, "started\n")
	}
}

// TestParallelConnections: 10 connections with a session each, all open at once.
func TestParallelConnections(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	const n = 10
	inputs := randomInputs(t, n, 256<<10)
	results := a.concurrentSSH(t, n, func(i int, barrier string) sshCall {
		return sshCall{
			Command: fmt.Sprintf("%s; sha256sum; echo conn-%d; exit %d", barrier, i, i%4),
			Stdin:   bytes.NewReader(inputs[i]),
		}
	})
	for i, res := range results {
		sum := sha256.Sum256(inputs[i])
		want := hex.EncodeToString(sum[:]) + "  -\nconn-" + strconv.Itoa(i) + "\n"
		if res.ExitCode != i%4 || res.Stdout != want {
			t.Errorf("connection %d: got %s, want exit %d and stdout %q", i, res, i%4, want)
		}
	}
}

func randomInputs(t *testing.T, n, size int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		if _, err := rand.Read(out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSessionRunsAsAccount: commands run with the account's uid, gid and supplementary
// groups (as the kernel reports them), and files they create belong to the account.
func TestSessionRunsAsAccount(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	name := "owned-" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	file := filepath.Join(a.Account.Home, name)
	dir := file + ".d"
	t.Cleanup(func() { os.RemoveAll(file); os.RemoveAll(dir) })

	out := a.Run(t, fmt.Sprintf("touch %s && mkdir %s && grep -E '^(Uid|Gid|Groups):' /proc/self/status", file, dir))
	fields := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.Fields(v)
	}
	uid, gid := strconv.Itoa(a.Account.UID), strconv.Itoa(a.Account.GID)
	if want := []string{uid, uid, uid, uid}; !equalStrings(fields["Uid"], want) {
		t.Errorf("session process Uid (real, effective, saved, fs) = %v, want %v", fields["Uid"], want)
	}
	if want := []string{gid, gid, gid, gid}; !equalStrings(fields["Gid"], want) {
		t.Errorf("session process Gid = %v, want %v", fields["Gid"], want)
	}
	var wantGroups []string
	for _, g := range a.Account.Groups {
		wantGroups = append(wantGroups, strconv.Itoa(g))
	}
	if !sameSet(fields["Groups"], wantGroups) {
		t.Errorf("session process Groups = %v, want %v (the account's groups, not root's)", fields["Groups"], wantGroups)
	}
	for _, p := range []string{file, dir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("session should have created %s: %v", p, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != a.Account.UID || int(st.Gid) != a.Account.GID {
			t.Errorf("%s is owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, a.Account.UID, a.Account.GID)
		}
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, " ") == strings.Join(b, " ")
}

func sameSet(a, b []string) bool {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		if !set[s] {
			return false
		}
	}
	return len(set) == len(b)
}

// TestShellWithoutPty: `ssh -T host < script` feeds a shell on stdin, without a terminal.
func TestShellWithoutPty(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := a.SSH(t, sshCall{Opts: []string{"-T"}, Stdin: strings.NewReader("echo sum=$((1+1))\nexit 4\n")})
	if res.ExitCode != 4 || !strings.HasSuffix(res.Stdout, "sum=2\n") {
		t.Errorf("shell fed on stdin: got %s, want exit 4 and stdout ending \"sum=2\\n\"", res)
	}
}
