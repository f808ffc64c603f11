package sftpd

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testenv"
)

// scpClient runs OpenSSH's scp in legacy mode (-O) against ServeSCP with no SSH server:
// -S points it at a wrapper that runs this test binary as the "ssh" program (see
// TestMain), serving remote paths with home as the home directory.
type scpClient struct {
	t       *testing.T
	wrapper string
	home    string
}

func newSCPClient(t *testing.T, home string) *scpClient {
	t.Helper()
	// A missing client skips only outside CI: under JOBSSHD_INTEGRATION=1 it is a
	// failure, since these tests are what shows that real clients work.
	testenv.RequireTool(t, "scp", "openssh-client")
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	wrapper := filepath.Join(t.TempDir(), "ssh-wrapper")
	script := "#!/bin/sh\nSCP_TEST_HELPER=1 exec '" + strings.ReplaceAll(self, "'", `'\''`) + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatalf("write ssh wrapper: %v", err)
	}
	return &scpClient{t: t, wrapper: wrapper, home: home}
}

// run runs scp with args after its hermetic options and returns its stderr and error.
func (c *scpClient) run(args ...string) (stderr string, err error) {
	c.t.Helper()
	full := append([]string{"-O", "-q", "-S", c.wrapper, "-F", "/dev/null"}, args...)
	cmd := exec.Command("scp", full...)
	cmd.Env = append(os.Environ(), "SCP_TEST_HOME="+c.home)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start scp: %v", err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill() // hung: the test fails below either way
		err = <-done
		c.t.Errorf("scp %q: timed out", args)
	}
	return errBuf.String(), err
}

// mustRun runs scp and fails the test unless it succeeds.
func (c *scpClient) mustRun(args ...string) {
	c.t.Helper()
	if stderr, err := c.run(args...); err != nil {
		c.t.Fatalf("scp %q: %v\n%s", args, err, stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSCPClientUploadDownload(t *testing.T) {
	t.Parallel()
	local, remote := t.TempDir(), t.TempDir()
	c := newSCPClient(t, remote)
	writeTree(t, local, map[string]string{"a.txt": "alpha\n", "b.txt": "beta\n"})
	writeTree(t, remote, map[string]string{"r.txt": "remote\n", "old.txt": "a long old content\n", "in/": ""})

	c.mustRun(filepath.Join(local, "a.txt"), "h:up.txt")
	if got := readFile(t, filepath.Join(remote, "up.txt")); got != "alpha\n" {
		t.Errorf("upload: got %q, want %q", got, "alpha\n")
	}
	c.mustRun(filepath.Join(local, "b.txt"), "h:old.txt")
	if got := readFile(t, filepath.Join(remote, "old.txt")); got != "beta\n" {
		t.Errorf("overwrite: got %q, want %q", got, "beta\n")
	}
	// Two sources: the client asks for -d, and the files land in the directory.
	c.mustRun(filepath.Join(local, "a.txt"), filepath.Join(local, "b.txt"), "h:"+filepath.Join(remote, "in"))
	for _, name := range []string{"a.txt", "b.txt"} {
		if got, want := readFile(t, filepath.Join(remote, "in", name)), readFile(t, filepath.Join(local, name)); got != want {
			t.Errorf("upload into a directory: %s: got %q, want %q", name, got, want)
		}
	}
	c.mustRun("h:r.txt", filepath.Join(local, "down.txt"))
	if got := readFile(t, filepath.Join(local, "down.txt")); got != "remote\n" {
		t.Errorf("download: got %q, want %q", got, "remote\n")
	}
	c.mustRun("h:~/r.txt", "h:in/a.txt", local)
	if got := readFile(t, filepath.Join(local, "r.txt")); got != "remote\n" {
		t.Errorf("download from ~: got %q, want %q", got, "remote\n")
	}
}

func TestSCPClientRecursive(t *testing.T) {
	t.Parallel()
	local, remote := t.TempDir(), t.TempDir()
	c := newSCPClient(t, remote)
	tree := map[string]string{
		"proj/main.go": "package main\n", "proj/data/x.csv": "1,2\n", "proj/data/deep/er/y": "y",
		"proj/empty/": "",
	}
	writeTree(t, local, tree)
	c.mustRun("-r", filepath.Join(local, "proj"), "h:")
	compareTrees(t, filepath.Join(local, "proj"), filepath.Join(remote, "proj"), false)

	back := filepath.Join(t.TempDir(), "back")
	c.mustRun("-r", "h:proj", back)
	compareTrees(t, filepath.Join(local, "proj"), back, false)
}

// TestSCPClientPreserve: -p keeps the mode (an uploaded script stays executable) and
// the times, both ways.
func TestSCPClientPreserve(t *testing.T) {
	t.Parallel()
	local, remote := t.TempDir(), t.TempDir()
	c := newSCPClient(t, remote)
	writeTree(t, local, map[string]string{"job/run.sh": "#!/bin/sh\necho hi\n", "job/secret": "s", "job/shared": "g", "job/sub/f": "f"})
	// Group-writable ones too, which a umask of 022 would change without -p.
	modes := map[string]os.FileMode{"job/run.sh": 0o750, "job/secret": 0o600, "job/shared": 0o666, "job/sub": 0o770, "job": 0o751}
	old := time.Unix(1111111111, 0)
	for _, name := range []string{"job/run.sh", "job/secret", "job/shared", "job/sub/f", "job/sub", "job"} {
		path := filepath.Join(local, name)
		if m, ok := modes[name]; ok {
			if err := os.Chmod(path, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	c.mustRun("-r", "-p", filepath.Join(local, "job"), "h:")
	compareTrees(t, filepath.Join(local, "job"), filepath.Join(remote, "job"), true)

	c.mustRun("-p", filepath.Join(local, "job", "run.sh"), "h:single.sh")
	fi, err := os.Stat(filepath.Join(remote, "single.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 || !fi.ModTime().Equal(old) {
		t.Errorf("upload -p: got mode %v, mtime %v; want 0750, %v", fi.Mode().Perm(), fi.ModTime(), old)
	}

	back := t.TempDir()
	c.mustRun("-r", "-p", "h:job", back)
	compareTrees(t, filepath.Join(local, "job"), filepath.Join(back, "job"), true)
}

func TestSCPClientSpacesAndUnicode(t *testing.T) {
	t.Parallel()
	local, remote := t.TempDir(), t.TempDir()
	c := newSCPClient(t, remote)
	name := "résumé データ 🚀 (final).txt"
	writeTree(t, local, map[string]string{name: "unicode\n", "dir with spaces/ä b": "x"})
	writeTree(t, remote, map[string]string{"remote dir/": ""})

	// OpenSSH's scp -O passes the remote path to the remote shell as typed, so a user
	// quotes it for that shell; these are the usual ways.
	c.mustRun(filepath.Join(local, name), `h:'remote dir'`)
	if got := readFile(t, filepath.Join(remote, "remote dir", name)); got != "unicode\n" {
		t.Errorf("upload: got %q, want %q", got, "unicode\n")
	}
	c.mustRun("-r", filepath.Join(local, "dir with spaces"), `h:remote\ dir/`)
	if got := readFile(t, filepath.Join(remote, "remote dir", "dir with spaces", "ä b")); got != "x" {
		t.Errorf("upload -r: got %q, want %q", got, "x")
	}
	down := t.TempDir()
	escaped := strings.NewReplacer(" ", `\ `, "(", `\(`, ")", `\)`).Replace(name)
	c.mustRun(`h:remote\ dir/`+escaped, down)
	if got := readFile(t, filepath.Join(down, name)); got != "unicode\n" {
		t.Errorf("download: got %q, want %q", got, "unicode\n")
	}
	// Quotes work too, but the client's check that the name it receives matches what it
	// asked for does not understand them (OpenSSH: "filename does not match request"):
	// -T turns the check off.
	c.mustRun("-T", `h:"remote dir/`+name+`"`, filepath.Join(down, "quoted"))
	if got := readFile(t, filepath.Join(down, "quoted")); got != "unicode\n" {
		t.Errorf("download of a quoted path: got %q, want %q", got, "unicode\n")
	}
	c.mustRun(`h:remote\ dir/*.txt`, filepath.Join(down, "glob"))
	if got := readFile(t, filepath.Join(down, "glob")); got != "unicode\n" {
		t.Errorf("download by pattern: got %q, want %q", got, "unicode\n")
	}
}

// TestSCPClientLargeFile sends 64 MiB of random data both ways; the sha256 must match.
func TestSCPClientLargeFile(t *testing.T) {
	t.Parallel()
	local, remote := t.TempDir(), t.TempDir()
	c := newSCPClient(t, remote)
	src := filepath.Join(local, "big.bin")
	want := writeRandomFile(t, src, 64<<20)

	c.mustRun(src, "h:big.bin")
	if got := fileSHA256(t, filepath.Join(remote, "big.bin")); got != want {
		t.Errorf("upload: got sha256 %x, want %x", got, want)
	}
	back := filepath.Join(local, "back.bin")
	c.mustRun("h:big.bin", back)
	if got := fileSHA256(t, back); got != want {
		t.Errorf("download: got sha256 %x, want %x", got, want)
	}
}

func TestSCPClientErrors(t *testing.T) {
	t.Parallel()
	local, remote := t.TempDir(), t.TempDir()
	c := newSCPClient(t, remote)
	writeTree(t, remote, map[string]string{"there.txt": "t", "afile": "f"})

	stderr, err := c.run("h:missing.txt", "h:there.txt", local)
	if err == nil {
		t.Error("download of a missing file: got success, want a failure")
	}
	if want := "scp: missing.txt: No such file or directory"; !strings.Contains(stderr, want) {
		t.Errorf("download of a missing file: got stderr %q, want it to contain %q", stderr, want)
	}
	if got := readFile(t, filepath.Join(local, "there.txt")); got != "t" {
		t.Errorf("the file after the missing one: got %q, want %q", got, "t")
	}

	writeTree(t, local, map[string]string{"a": "a", "b": "b"})
	stderr, err = c.run(filepath.Join(local, "a"), filepath.Join(local, "b"), "h:afile")
	if err == nil {
		t.Error("two files to a file target: got success, want a failure")
	}
	if want := "scp: afile: Not a directory"; !strings.Contains(stderr, want) {
		t.Errorf("two files to a file target: got stderr %q, want it to contain %q", stderr, want)
	}
}

// writeRandomFile writes size reproducible random bytes, streamed, and returns their
// sha256.
func writeRandomFile(t *testing.T, path string, size int64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{'s', 'c', 'p'})
	if _, err := io.CopyN(io.MultiWriter(f, h), rng, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func fileSHA256(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
