package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"jobsshd/internal/asuser"
	"jobsshd/internal/testenv"
)

func openRoot(t *testing.T) (*os.Root, string) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root, dir
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCreateNeverReplaces: Create writes a new file with exactly mode, and refuses a
// name that exists in any form, a dangling symlink included, leaving it as it is.
func TestCreateNeverReplaces(t *testing.T) {
	t.Parallel()
	root, dir := openRoot(t)
	if err := Create(root, "key", []byte("one"), 0o600, nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("created file: %v, %v; want mode 0600", fi, err)
	}
	if err := Create(root, "key", []byte("two"), 0o600, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a file: got %v, want fs.ErrExist", err)
	}
	if got := readString(t, filepath.Join(dir, "key")); got != "one" {
		t.Errorf("file after a refused Create: got %q, want %q", got, "one")
	}
	target := filepath.Join(t.TempDir(), "target")
	if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := Create(root, "link", []byte("x"), 0o600, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a dangling symlink: got %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symlink target after Create: got %v, want it still missing", err)
	}
	assertNoTemporaryFiles(t, dir, 2)
}

// TestReplaceDoesNotFollow: Replace replaces a symlink at the name with a file and
// leaves its target alone; ReplacePath follows one, and keeps the target's mode minus
// group and others' write permission.
func TestReplaceDoesNotFollow(t *testing.T) {
	t.Parallel()
	root, dir := openRoot(t)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("theirs"), 0o664); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o664); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "status.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Replace(root, "status.json", []byte("ours"), 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("after Replace: %v, %v; want a regular file of mode 0644", fi, err)
	}
	if got := readString(t, target); got != "theirs" {
		t.Errorf("symlink target after Replace: got %q, want it untouched", got)
	}
	if err := os.Symlink(target, filepath.Join(dir, "config")); err != nil {
		t.Fatal(err)
	}
	if err := ReplacePath(filepath.Join(dir, "config"), []byte("block"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 || readString(t, target) != "block" {
		t.Errorf("ReplacePath through a symlink: target %v, %v; want \"block\" with mode 0644 (0664 minus g+w)", fi, err)
	}
	assertNoTemporaryFiles(t, dir, 2)
}

// TestReplacePathInUnreadableDirectory: ReplacePath, run as the account, writes in a
// directory the account may write and search but not read (~/.ssh of mode 0300), as
// the job trust writer it replaced did (os.CreateTemp and os.Rename need no read
// permission). Opening the directory as an *os.Root needs it, and failed there.
func TestReplacePathInUnreadableDirectory(t *testing.T) {
	testenv.RequireRoot(t, "the writer must run as another uid, which root alone can switch to")
	t.Parallel()
	const uid, gid = 65534, 65534 // an account of no test: only the numbers matter
	base, err := os.MkdirTemp("", "atomicfile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	sshDir := filepath.Join(base, "ssh")
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sshDir, 0o300); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sshDir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sshDir, 0o300); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sshDir, "config")
	for _, content := range []string{"new", "replaced"} {
		err := asuser.Do(uid, gid, []int{gid}, func() error { return ReplacePath(path, []byte(content), 0o600) })
		if err != nil {
			t.Fatalf("ReplacePath (%s) in a directory of mode 0300, as its owner: %v", content, err)
		}
		if got := readString(t, path); got != content {
			t.Errorf("after ReplacePath: got %q, want %q", got, content)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != uid {
		t.Errorf("written file: %v, %v; want mode 0600, owned by uid %d", fi, err, uid)
	}
	assertNoTemporaryFiles(t, sshDir, 1)
}

// assertNoTemporaryFiles checks that dir holds want entries, none of them a temporary
// file left behind.
func assertNoTemporaryFiles(t *testing.T, dir string, want int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != want {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("entries in %s: got %q, want %d", dir, names, want)
	}
}
