package integration

// What the file transfer tests share: running sftp, scp, psftp and pscp against an agent,
// a fresh directory in the account's home per test, sample trees, checksums, ownership
// and the agent's process tree.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clientRun is one run of a file transfer client.
type clientRun struct {
	Name    string // program, looked up on PATH
	Package string // Debian package that installs it, for the failure message
	Args    []string
	Env     []string      // extra environment
	Dir     string        // working directory; "" means the test's
	Timeout time.Duration // 0 means clientTimeout
}

// runClient runs c to completion; it fails the test if the client is missing, cannot
// run or does not exit in time. A non-zero exit is a result, not a failure.
func runClient(t *testing.T, c clientRun) sshResult {
	t.Helper()
	requireTool(t, c.Name, c.Package)
	timeout := c.Timeout
	if timeout == 0 {
		timeout = clientTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := sshResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no exit within %v (%s)", c.Name, strings.Join(c.Args, " "), timeout, res)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v", c.Name, err)
	}
	return res
}

// hermeticCopyOptions are hermeticSSHOptions for sftp and scp, which take the port as
// -P (their -p preserves times).
func hermeticCopyOptions(key string, port int) []string {
	opts := hermeticSSHOptions(key, port)
	for i, o := range opts {
		if o == "-p" {
			opts[i] = "-P"
		}
	}
	return opts
}

// destination is user@127.0.0.1 for the served account.
func (a *agent) destination() string { return a.Account.Name + "@127.0.0.1" }

// remote is an scp/pscp operand for path on the agent.
func (a *agent) remote(path string) string { return a.destination() + ":" + path }

// sftpBatch runs OpenSSH `sftp -b` with the batch commands, one a line, and the extra
// sftp options; sftp stops at the first failing command and exits 1.
func (a *agent) sftpBatch(t *testing.T, batch string, extra ...string) sshResult {
	t.Helper()
	file := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(file, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(hermeticCopyOptions(a.IDFile, a.Port), extra...)
	args = append(args, "-b", file, a.destination())
	return runClient(t, clientRun{Name: "sftp", Package: "openssh-client", Args: args, Timeout: 3 * clientTimeout})
}

// scp runs OpenSSH scp with the hermetic options and then args (flags and operands; use
// a.remote for remote ones).
func (a *agent) scp(t *testing.T, args ...string) sshResult {
	t.Helper()
	all := append(hermeticCopyOptions(a.IDFile, a.Port), args...)
	return runClient(t, clientRun{Name: "scp", Package: "openssh-client", Args: all, Timeout: 3 * clientTimeout})
}

// puttyArgs are the options psftp and pscp share: no prompts, id_container.ppk, the
// agent's port and host keys (by SHA256 fingerprint, as PuTTY 0.78 accepts).
func (a *agent) puttyArgs() []string {
	args := []string{"-batch", "-i", a.IDFile + ".ppk", "-P", strconv.Itoa(a.Port)}
	for _, k := range a.Status.HostKeys {
		args = append(args, "-hostkey", k.Fingerprint)
	}
	return args
}

// psftp runs PuTTY's psftp with a batch file (it stops at the first failing command).
// HOME is a fresh directory so no saved session or host key cache takes part.
func (a *agent) psftp(t *testing.T, batch string) sshResult {
	t.Helper()
	file := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(file, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(a.puttyArgs(), "-b", file, "-bc", a.destination())
	return runClient(t, clientRun{Name: "psftp", Package: "putty-tools", Args: args, Env: []string{"HOME=" + t.TempDir()}})
}

// pscp runs PuTTY's pscp with args after the common options (-sftp or -scp among them).
func (a *agent) pscp(t *testing.T, args ...string) sshResult {
	t.Helper()
	all := append(a.puttyArgs(), args...)
	return runClient(t, clientRun{Name: "pscp", Package: "putty-tools", Args: all, Env: []string{"HOME=" + t.TempDir()}})
}

// userDir makes a fresh directory in the account's home, owned by the account, so that
// tests serving the same account do not see each other's files. It returns the path
// relative to the home (what a client that starts in the home may use) and the absolute
// one (what the test checks).
func userDir(t *testing.T, acct account) (rel, abs string) {
	t.Helper()
	abs, err := os.MkdirTemp(acct.Home, "it-xfer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(abs); err != nil {
			t.Errorf("remove %s: %v", abs, err)
		}
	})
	if err := os.Chown(abs, acct.UID, acct.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(abs), abs
}

// writeRandomFile writes size bytes of a ChaCha8 stream seeded with seed: as fast as the
// disk, and different for every seed.
func writeRandomFile(t *testing.T, path string, size int64, seed byte, mode os.FileMode) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	key[0] = seed
	if _, err := io.CopyBuffer(f, io.LimitReader(rand.NewChaCha8(key), size), make([]byte, 1<<20)); err != nil {
		f.Close()
		t.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// requireSameContent fails unless both files exist with the same bytes.
func requireSameContent(t *testing.T, want, got string) {
	t.Helper()
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("read the copy: %v", err)
	}
	if !bytes.Equal(w, g) {
		t.Fatalf("%s: %d bytes (sha256 %x), want the %d bytes of %s (sha256 %x)", got, len(g), sha256.Sum256(g), len(w), want, sha256.Sum256(w))
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// sampleTree is what the recursive copies send: nested and empty directories, an empty
// file, an executable, binary data larger than one SFTP/scp buffer, and names with spaces
// and non-ASCII letters.
var sampleTree = []struct {
	path string
	dir  bool
	size int // random content of this size; 0 with content "" is an empty file
	text string
	mode os.FileMode
}{
	{path: "top.txt", text: "top\n", mode: 0o644},
	{path: "empty", mode: 0o644},
	{path: "run.sh", text: "#!/bin/sh\necho ran\n", mode: 0o755},
	{path: "sub", dir: true, mode: 0o755},
	{path: "sub/data.bin", size: 700 << 10, mode: 0o644},
	{path: "sub/deeper", dir: true, mode: 0o750},
	{path: "sub/deeper/a b ü.txt", text: "spaces and unicode\n", mode: 0o600},
	{path: "empty dir", dir: true, mode: 0o755},
}

// writeSampleTree creates sampleTree in dir (which must exist).
func writeSampleTree(t *testing.T, dir string) {
	t.Helper()
	for i, e := range sampleTree {
		p := filepath.Join(dir, e.path)
		switch {
		case e.dir:
			if err := os.Mkdir(p, e.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, e.mode); err != nil {
				t.Fatal(err)
			}
		case e.size > 0:
			writeRandomFile(t, p, int64(e.size), byte(100+i), e.mode)
		default:
			writeFile(t, p, e.text, e.mode)
		}
	}
}

// requireSameTree fails unless got holds exactly what want holds: the same names, types
// and file contents, and with checkModes the same permission bits.
func requireSameTree(t *testing.T, want, got string, checkModes bool) {
	t.Helper()
	list := func(root string) map[string]fs.FileInfo {
		m := map[string]fs.FileInfo{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			if rel == "." {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			m[rel] = fi
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
		return m
	}
	w, g := list(want), list(got)
	var names []string
	for name := range w {
		names = append(names, name)
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		wi, gi := w[name], g[name]
		switch {
		case gi == nil:
			t.Errorf("%s: missing from the copy in %s", name, got)
		case wi == nil:
			t.Errorf("%s: in the copy in %s but not in the original", name, got)
		case wi.Mode().Type() != gi.Mode().Type():
			t.Errorf("%s: type %v in the copy, want %v", name, gi.Mode().Type(), wi.Mode().Type())
		case checkModes && wi.Mode().Perm() != gi.Mode().Perm():
			t.Errorf("%s: mode %v in the copy, want %v", name, gi.Mode().Perm(), wi.Mode().Perm())
		case wi.Mode().IsRegular():
			wb, err1 := os.ReadFile(filepath.Join(want, name))
			gb, err2 := os.ReadFile(filepath.Join(got, name))
			if err := errors.Join(err1, err2); err != nil {
				t.Error(err)
			} else if !bytes.Equal(wb, gb) {
				t.Errorf("%s: %d bytes in the copy differ from the %d of the original", name, len(gb), len(wb))
			}
		}
	}
}

// requireOwnedBy fails unless path and everything under it belong to the account's uid
// and primary gid: every transfer runs as the user, never as the root agent.
func requireOwnedBy(t *testing.T, path string, acct account) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != acct.UID || int(st.Gid) != acct.GID {
			t.Errorf("%s: owned by %d:%d, want %s's %d:%d", p, st.Uid, st.Gid, acct.Name, acct.UID, acct.GID)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", path, err)
	}
	if n == 0 {
		t.Fatalf("%s: nothing to check", path)
	}
}

// procInfo is one process as /proc shows it.
type procInfo struct {
	PID     int
	State   byte
	Cmdline string // arguments joined with spaces
}

func (p procInfo) String() string { return fmt.Sprintf("%d %c %q", p.PID, p.State, p.Cmdline) }

// descendants lists every process whose ancestry leads to pid (children, grandchildren,
// ...), zombies included.
func descendants(pid int) []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := map[int]int{}
	state := map[int]byte{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
		rp := bytes.LastIndexByte(b, ')')
		if rp < 0 {
			continue
		}
		f := strings.Fields(string(b[rp+1:]))
		if len(f) < 2 {
			continue
		}
		pp, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		parent[p], state[p] = pp, f[0][0]
	}
	var out []procInfo
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)) // "" once it exited
				out = append(out, procInfo{PID: p, State: state[p],
					Cmdline: strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))})
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b procInfo) int { return a.PID - b.PID })
	return out
}

// transferChildren are the agent's descendants that serve file transfers.
func transferChildren(pid int) []procInfo {
	var out []procInfo
	for _, p := range descendants(pid) {
		if strings.Contains(p.Cmdline, "sftp-server") || strings.Contains(p.Cmdline, "scp") {
			out = append(out, p)
		}
	}
	return out
}
