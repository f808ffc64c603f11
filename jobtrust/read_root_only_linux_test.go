package jobtrust

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"jobsshd/internal/testenv"
)

// rootOnlyTree is a directory of root's for TestReadRootOnlyFile, in which the helpers
// make files, symlinks and directories (relative paths) and return their absolute paths.
type rootOnlyTree struct {
	t    *testing.T
	base string // root's 0700 directory in sticky /tmp
}

// otherUID is a uid that is not root.
const otherUID = 54321

func (tr rootOnlyTree) path(rel string) string { return filepath.Join(tr.base, rel) }

// file writes a file with mode and data at rel, making the directories on the way.
func (tr rootOnlyTree) file(rel string, mode os.FileMode, data string) string {
	p := tr.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

// link makes a symlink to target at rel, owned by uid.
func (tr rootOnlyTree) link(target, rel string, uid int) string {
	p := tr.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Lchown(p, uid, uid); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

// dir makes a directory with mode at rel, owned by uid.
func (tr rootOnlyTree) dir(rel string, mode os.FileMode, uid int) {
	p := tr.path(rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chown(p, uid, uid); err != nil {
		tr.t.Fatal(err)
	}
}

// makeRootOnlyTree lays out what the cases read: root's secret, a directory of another
// uid, a group-writable one, a sticky one holding a Kubernetes Secret mount layout,
// another uid's symlink and a hard link, and a FIFO. It returns the secret's path and
// that of a root-only file with a second name in the sticky directory.
func makeRootOnlyTree(tr rootOnlyTree) (secret, hardSecret string) {
	secret = tr.file("root/secret", 0o600, "SECRET")
	tr.dir("userdir", 0o755, otherUID)
	tr.dir("groupw", 0o775, 0)
	tr.dir("sticky", 0o777|os.ModeSticky, 0)
	tr.file("groupw/f", 0o600, "G")
	tr.file("sticky/stamp/f", 0o400, "S")
	tr.link("stamp", "sticky/..data", 0)
	tr.link("..data/f", "sticky/f", 0)
	tr.link(secret, "sticky/others-link", otherUID)
	// A root-only file hard-linked into a sticky directory, as an account can when
	// fs.protected_hardlinks is 0 (issue 10 review, files 3); the link is made as root
	// here to simulate that. Both names are refused.
	hardSecret = tr.file("root/hard-secret", 0o600, "HARD")
	if err := os.Link(hardSecret, tr.path("sticky/hard-link")); err != nil {
		tr.t.Fatal(err)
	}
	if err := syscall.Mkfifo(tr.path("root/fifo"), 0o600); err != nil {
		tr.t.Fatal(err)
	}
	return secret, hardSecret
}

// rootOnlyCase is one TestReadRootOnlyFile case.
type rootOnlyCase struct {
	name    string
	path    string
	limit   int64
	want    string
	wantErr string
	notRoot bool // the error wraps ErrNotRootOnly
}

// rootOnlyCases are TestReadRootOnlyFile's cases in the tree of makeRootOnlyTree; some
// make the file or symlink they read.
func rootOnlyCases(tr rootOnlyTree, secret, hardSecret string) []rootOnlyCase {
	return []rootOnlyCase{
		{name: "root's file", path: secret, want: "SECRET"},
		{name: "root's absolute symlink", path: tr.link(secret, "root/abs", 0), want: "SECRET"},
		{name: "root's relative symlink with ..", path: tr.link("../root/secret", "root2/rel", 0), want: "SECRET"},
		{name: "Secret mount layout in a sticky dir", path: tr.path("sticky/f"), want: "S"},
		{name: "symlink in a directory another uid owns", path: tr.link(secret, "userdir/job.key", otherUID), notRoot: true},
		{name: "file in a directory another uid owns", path: tr.file("userdir/plain", 0o600, "x"), notRoot: true},
		{name: "another uid's symlink in a sticky dir", path: tr.path("sticky/others-link"), notRoot: true},
		{name: "hard link in a sticky dir", path: tr.path("sticky/hard-link"), notRoot: true},
		{name: "hard-linked file at its root-only name", path: hardSecret, notRoot: true},
		{name: "group-writable directory", path: tr.path("groupw/f"), notRoot: true},
		{name: "group-writable file", path: tr.file("root/gw", 0o620, "x"), notRoot: true},
		{name: "a FIFO is refused without blocking", path: tr.path("root/fifo"), wantErr: "not a regular file"},
		{name: "too large", path: tr.file("root/big", 0o600, strings.Repeat("x", 100)), limit: 99, wantErr: "larger than 99 bytes"},
		{name: "missing", path: tr.path("root/none"), wantErr: "no such file"},
		{name: "relative path", path: "root/secret", wantErr: "not an absolute path"},
		{name: "symlink loop", path: tr.link("loop", filepath.Join("root", "loop"), 0), wantErr: "more than 40 symlinks"},
	}
}

// TestReadRootOnlyFile: a file is read as root only when root alone decided which file
// the path names. Needs root (to own files as root and give some away); CI runs as
// root.
func TestReadRootOnlyFile(t *testing.T) {
	testenv.RequireRoot(t, "files must be root's, and others' for the refusals")
	tr := rootOnlyTree{t: t, base: t.TempDir()}
	secret, hardSecret := makeRootOnlyTree(tr)
	tests := rootOnlyCases(tr, secret, hardSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = 1 << 10
			}
			got, err := ReadRootOnlyFile(tt.path, limit)
			switch {
			case tt.want != "":
				if err != nil || string(got) != tt.want {
					t.Errorf("got %q, %v; want %q", got, err, tt.want)
				}
			case tt.notRoot:
				if !errors.Is(err, ErrNotRootOnly) {
					t.Errorf("got %q, %v; want an error wrapping ErrNotRootOnly", got, err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrNotRootOnly) {
					t.Errorf("got %q, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
			}
		})
	}
}
