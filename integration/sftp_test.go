package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSFTPBatch drives OpenSSH sftp through the operations users script with `sftp -b`,
// with paths relative to where the server starts (the home), then checks the result on
// the file system.
func TestSFTPBatch(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	writeRandomFile(t, filepath.Join(local, "hello.bin"), 1<<20+17, 1, 0o644)

	res := a.sftpBatch(t, strings.Join([]string{
		"cd " + rel,
		"put " + filepath.Join(local, "hello.bin") + " hello.bin",
		"get hello.bin " + filepath.Join(local, "hello.back"),
		"rename hello.bin renamed.bin",
		"chmod 640 renamed.bin",
		"ls -l renamed.bin",
		"ln -s renamed.bin link.bin",
		"ln renamed.bin hard.bin",
		"mkdir made",
		"mkdir gone",
		"rmdir gone",
		"df",
		"ls -l",
		"",
	}, "\n"))
	if res.ExitCode != 0 {
		t.Fatalf("sftp -b: %s, want exit 0", res)
	}
	requireSameContent(t, filepath.Join(local, "hello.bin"), filepath.Join(local, "hello.back"))
	requireSameContent(t, filepath.Join(local, "hello.bin"), filepath.Join(abs, "renamed.bin"))
	if _, err := os.Lstat(filepath.Join(abs, "hello.bin")); !os.IsNotExist(err) {
		t.Errorf("after rename, hello.bin: %v, want it gone", err)
	}
	if got := fileMode(t, filepath.Join(abs, "renamed.bin")); got != 0o640 {
		t.Errorf("after chmod 640: mode %v, want -rw-r-----", got)
	}
	if !strings.Contains(res.Stdout, "-rw-r-----") {
		t.Errorf("ls -l after chmod 640 does not show -rw-r-----:\n%s", res.Stdout)
	}
	// OpenSSH sends SSH_FXP_SYMLINK with its two paths in the opposite order to the
	// draft (PROTOCOL §4.1); a server that follows the draft makes a reversed link.
	if target, err := os.Readlink(filepath.Join(abs, "link.bin")); err != nil || target != "renamed.bin" {
		t.Errorf("ln -s renamed.bin link.bin: readlink = %q, %v; want \"renamed.bin\"", target, err)
	}
	hard, err1 := os.Stat(filepath.Join(abs, "hard.bin"))
	orig, err2 := os.Stat(filepath.Join(abs, "renamed.bin"))
	if err1 != nil || err2 != nil || !os.SameFile(hard, orig) {
		t.Errorf("ln renamed.bin hard.bin: hard.bin is not renamed.bin's inode (%v, %v)", err1, err2)
	}
	if fi, err := os.Stat(filepath.Join(abs, "made")); err != nil || !fi.IsDir() {
		t.Errorf("mkdir made: %v, want a directory", err)
	}
	if _, err := os.Lstat(filepath.Join(abs, "gone")); !os.IsNotExist(err) {
		t.Errorf("after mkdir gone; rmdir gone: %v, want it gone", err)
	}
	for _, name := range []string{"renamed.bin", "link.bin", "hard.bin", "made"} {
		if !strings.Contains(res.Stdout, name) {
			t.Errorf("ls -l does not list %s:\n%s", name, res.Stdout)
		}
	}
	checkDF(t, res.Stdout, abs)
	requireOwnedBy(t, abs, a.Account)

	res = a.sftpBatch(t, "cd "+rel+"\nrm hard.bin\nrm link.bin\nrmdir made\nls\n")
	if res.ExitCode != 0 {
		t.Fatalf("sftp -b rm, rmdir: %s, want exit 0", res)
	}
	for _, name := range []string{"hard.bin", "link.bin", "made"} {
		if _, err := os.Lstat(filepath.Join(abs, name)); !os.IsNotExist(err) {
			t.Errorf("after rm/rmdir %s: %v, want it gone", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(abs, "renamed.bin")); err != nil {
		t.Errorf("rm link.bin removed the link's target too: %v", err)
	}
}

// checkDF compares sftp's `df` (statvfs@openssh.com) with statfs(2) of the same file
// system. OpenSSH prints "Size Used Avail (root) %Capacity" in KiB; the size does not
// change while the test runs.
func checkDF(t *testing.T, out, dir string) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatUint(uint64(st.Frsize)*st.Blocks/1024, 10)
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Avail") && strings.Contains(l, "%Capacity") && i+1 < len(lines) {
			if f := strings.Fields(lines[i+1]); len(f) < 5 || f[0] != want {
				t.Errorf("df: %q, want a size of %s KiB (statfs of %s)", lines[i+1], want, dir)
			}
			return
		}
	}
	t.Errorf("df printed no \"Size Used Avail (root) %%Capacity\" table:\n%s", out)
}

// TestSFTPErrors: failures come back as SFTP statuses that the client reports in words,
// and a refused upload creates nothing.
func TestSFTPErrors(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	writeFile(t, filepath.Join(local, "f.txt"), "data\n", 0o644)
	// A directory the user may enter but not write, as root's are.
	rootDir := filepath.Join(abs, "rootdir")
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("get missing", func(t *testing.T) {
		res := a.sftpBatch(t, "get "+rel+"/missing.txt "+filepath.Join(local, "missing.txt")+"\n")
		if res.ExitCode == 0 || !containsAny(res.Stderr, "No such file", "not found") {
			t.Errorf("get of a missing file: %s, want a failure saying \"No such file\" or \"not found\"", res)
		}
		if _, err := os.Lstat(filepath.Join(local, "missing.txt")); !os.IsNotExist(err) {
			t.Errorf("get of a missing file left a local file: %v", err)
		}
	})
	t.Run("put into root's directory", func(t *testing.T) {
		res := a.sftpBatch(t, "put "+filepath.Join(local, "f.txt")+" "+rel+"/rootdir/f.txt\n")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Permission denied") {
			t.Errorf("put into a root-owned 0755 directory: %s, want a failure saying \"Permission denied\"", res)
		}
		if entries, err := os.ReadDir(rootDir); err != nil || len(entries) != 0 {
			t.Errorf("after the refused put, %s holds %v (%v), want nothing", rootDir, entries, err)
		}
	})
	t.Run("mkdir in root's directory", func(t *testing.T) {
		res := a.sftpBatch(t, "mkdir "+rel+"/rootdir/sub\n")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Permission denied") {
			t.Errorf("mkdir in a root-owned 0755 directory: %s, want a failure saying \"Permission denied\"", res)
		}
	})
	t.Run("rm missing", func(t *testing.T) {
		res := a.sftpBatch(t, "rm "+rel+"/missing.txt\n")
		if res.ExitCode == 0 || !containsAny(res.Stderr, "No such file", "not found") {
			t.Errorf("rm of a missing file: %s, want a failure saying \"No such file\" or \"not found\"", res)
		}
	})
	// The session is still usable after errors: the server did not quit on them.
	res := a.sftpBatch(t, "-get "+rel+"/missing.txt "+filepath.Join(local, "m")+"\nput "+filepath.Join(local, "f.txt")+" "+rel+"/ok.txt\n")
	if res.ExitCode != 0 {
		t.Fatalf("put after a failed get in the same session: %s, want exit 0", res)
	}
	requireSameContent(t, filepath.Join(local, "f.txt"), filepath.Join(abs, "ok.txt"))
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestSFTPKeepsExecutable: OpenSSH sftp sends the local file's mode with the open
// request, plain put as well as put -p; the server creates the file with it (pkg/sftp
// used to make every file 0644, and uploaded scripts lost +x).
func TestSFTPKeepsExecutable(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	writeFile(t, filepath.Join(local, "run.sh"), "#!/bin/sh\necho ran-$((40+2))\n", 0o755)
	writeFile(t, filepath.Join(local, "secret"), "s\n", 0o600)
	res := a.sftpBatch(t, strings.Join([]string{
		"cd " + rel,
		"put " + filepath.Join(local, "run.sh") + " plain.sh",
		"put -p " + filepath.Join(local, "run.sh") + " preserved.sh",
		"put " + filepath.Join(local, "secret") + " secret",
		"",
	}, "\n"))
	if res.ExitCode != 0 {
		t.Fatalf("sftp -b put: %s, want exit 0", res)
	}
	for name, want := range map[string]os.FileMode{"plain.sh": 0o755, "preserved.sh": 0o755, "secret": 0o600} {
		if got := fileMode(t, filepath.Join(abs, name)); got != want {
			t.Errorf("uploaded %s: mode %v, want %v (the local file's)", name, got, want)
		}
	}
	// And the user can run it, which is what the mode is for.
	for _, name := range []string{"plain.sh", "preserved.sh"} {
		if got := a.Run(t, "./"+rel+"/"+name); got != "ran-42\n" {
			t.Errorf("running the uploaded %s: %q, want \"ran-42\\n\"", name, got)
		}
	}
}

// TestSFTPIntegrity1GiB: a 1 GiB random file goes up and comes back unchanged (sha256 of
// the original, the server's copy and the download).
func TestSFTPIntegrity1GiB(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	orig, back := filepath.Join(local, "big.bin"), filepath.Join(local, "big.back")
	const size = 1 << 30
	start := time.Now()
	writeRandomFile(t, orig, size, 42, 0o644)
	t.Logf("generated %d bytes in %v", size, time.Since(start))

	start = time.Now()
	res := a.sftpBatch(t, "put "+orig+" "+rel+"/big.bin\nget "+rel+"/big.bin "+back+"\n")
	if res.ExitCode != 0 {
		t.Fatalf("sftp put and get of 1 GiB: %s, want exit 0", res)
	}
	t.Logf("sftp put and get of 1 GiB in %v", time.Since(start))
	want := fileSHA256(t, orig)
	for _, p := range []string{filepath.Join(abs, "big.bin"), back} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fileSHA256(t, p); fi.Size() != size || got != want {
			t.Errorf("%s: %d bytes, sha256 %s; want %d bytes, sha256 %s", p, fi.Size(), got, size, want)
		}
	}
}

// TestSFTPRecursive: `put -r` and `get -r` copy a tree (with -p, modes and times too),
// and a directory of thousands of entries lists completely (READDIR answers in batches).
func TestSFTPRecursive(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	tree := filepath.Join(local, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSampleTree(t, tree)
	back := filepath.Join(local, "back")
	if err := os.Mkdir(back, 0o755); err != nil {
		t.Fatal(err)
	}
	res := a.sftpBatch(t, "cd "+rel+"\nput -rp "+tree+"\nget -rp tree "+back+"\n")
	if res.ExitCode != 0 {
		t.Fatalf("sftp put -rp, get -rp: %s, want exit 0", res)
	}
	requireSameTree(t, tree, filepath.Join(abs, "tree"), true)
	requireSameTree(t, tree, filepath.Join(back, "tree"), true)
	requireOwnedBy(t, filepath.Join(abs, "tree"), a.Account)

	const n = 2500
	many := filepath.Join(abs, "many")
	if err := os.Mkdir(many, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		writeFile(t, filepath.Join(many, fmt.Sprintf("entry-with-a-longish-name-%05d", i)), "", 0o644)
	}
	res = a.sftpBatch(t, "ls -1 "+rel+"/many\n")
	if res.ExitCode != 0 {
		t.Fatalf("sftp ls -1 of %d entries: %s, want exit 0", n, res)
	}
	listed := map[string]bool{}
	for _, l := range strings.Fields(res.Stdout) {
		if name := filepath.Base(l); strings.HasPrefix(name, "entry-with-a-longish-name-") {
			listed[name] = true
		}
	}
	if len(listed) != n {
		t.Errorf("sftp ls -1 of a directory of %d files listed %d of them", n, len(listed))
	}
}
