package pathwalk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// errRuleRefused is what the refusing rules of resolveTests return.
var errRuleRefused = errors.New("refused")

// makeResolveTree makes the tree resolveTests walk: directories a/b and c, a file a/f,
// and in c symlinks to a/b (relative), to a (absolute), to a/f and to itself.
func makeResolveTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "a/f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"c/tob": "../a/b", "c/abs": filepath.Join(base, "a"), "c/loop": "loop", "c/tof": "../a/f"} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

// resolveTests are TestResolve's cases: a path under the tree of makeResolveTree, the
// rules, and where the walk must end or the error it must give.
var resolveTests = []struct {
	name     string
	path     string
	rules    Rules
	wantName string
	want     string // the path whose inode the walk must end at
	wantErr  string
}{
	{name: "directory", path: "a/b", wantName: "b", want: "a/b"},
	{name: "file", path: "a/f", wantName: "f", want: "a/f"},
	{name: "dot dot at the end", path: "a/b/..", wantName: ".", want: "a"},
	{name: "relative symlink to a directory at the end", path: "c/tob", wantName: "b", want: "a/b"},
	{name: "absolute symlink on the way", path: "c/abs/b", wantName: "b", want: "a/b"},
	{name: "symlink to a file", path: "c/tof", wantName: "f", want: "a/f"},
	{name: "file on the way", path: "a/f/x", wantErr: "not a directory"},
	{name: "loop", path: "c/loop", wantErr: "more than 40 symlinks"},
	{name: "missing", path: "a/none", wantErr: "no such file"},
	{name: "rule refuses the symlink", path: "c/tob", wantErr: "refused", rules: Rules{Entry: func(name string, st *unix.Stat_t) error {
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return errRuleRefused
		}
		return nil
	}}},
	{name: "rule refuses a directory passed through", path: "a/b", wantErr: "refused", rules: Rules{Dir: func(name string, st *unix.Stat_t) error {
		if name == "a" {
			return errRuleRefused
		}
		return nil
	}}},
	{name: "Dir is not shown the last directory", path: "a/b", wantName: "b", want: "a/b", rules: Rules{Dir: func(name string, st *unix.Stat_t) error {
		if name == "b" {
			return errRuleRefused
		}
		return nil
	}}},
}

func TestResolve(t *testing.T) {
	base := makeResolveTree(t)
	stat := func(p string) unix.Stat_t {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tt := range resolveTests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Resolve(base+"/"+tt.path, tt.rules) // not Join: it would clean ".." away
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			want := stat(filepath.Join(base, tt.want))
			if w.Name != tt.wantName || w.Stat.Ino != want.Ino || w.Stat.Dev != want.Dev {
				t.Errorf("got %q (inode %d), want %q (inode %d)", w.Name, w.Stat.Ino, tt.wantName, want.Ino)
			}
			var inDir unix.Stat_t
			if err := unix.Fstatat(w.Dir(), w.Name, &inDir, unix.AT_SYMLINK_NOFOLLOW); err != nil || inDir.Ino != want.Ino {
				t.Errorf("%q in Dir(): inode %d, %v; want %d", w.Name, inDir.Ino, err, want.Ino)
			}
		})
	}
	if _, err := Resolve("relative", Rules{}); err == nil {
		t.Error("a relative path: got no error")
	}
}
