package statedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openTests are TestOpen's cases: the path setup makes under a temp dir, and the refusal
// Open and Inspect must both give ("" when Open opens it).
var openTests = []struct {
	name     string
	needRoot bool
	setup    func(t *testing.T, base string) string // returns the path to open
	wantErr  string                                 // "" means it opens
}{
	{name: "missing: created 0700", setup: func(t *testing.T, base string) string { return filepath.Join(base, "a", "b") }},
	{name: "own 0700", setup: func(t *testing.T, base string) string { return mkdir(t, base, "s", 0o700) }},
	{name: "own 0755", setup: func(t *testing.T, base string) string { return mkdir(t, base, "s", 0o755) }},
	{name: "group-writable (fsGroup volume)", setup: func(t *testing.T, base string) string { return mkdir(t, base, "s", 0o2770) },
		wantErr: "writable by group or others (mode 0770): they could replace the host keys"},
	{name: "writable by others, sticky", setup: func(t *testing.T, base string) string { return mkdir(t, base, "s", 0o1777) },
		wantErr: "chmod go-w"},
	{name: "owned by another uid", needRoot: true, setup: func(t *testing.T, base string) string {
		dir := mkdir(t, base, "s", 0o700)
		chown(t, dir, 65534)
		return dir
	}, wantErr: "belongs to uid 65534, not to uid 0"},
	{name: "symlink of another uid", needRoot: true, setup: func(t *testing.T, base string) string {
		target := mkdir(t, base, "target", 0o700) // root's, would pass on its own
		link := filepath.Join(base, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		return link
	}, wantErr: "is a symlink that belongs to uid 65534"},
	{name: "missing, below a symlink of another uid", needRoot: true, setup: func(t *testing.T, base string) string {
		elsewhere := mkdir(t, base, "etc", 0o755) // root's: where the planter wants root to write
		link := filepath.Join(base, "home-state")
		if err := os.Symlink(elsewhere, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
				t.Errorf("got %d entries created through the planted symlink, want none", len(entries))
			}
		})
		return filepath.Join(link, "jobsshd")
	}, wantErr: "a symlink that belongs to uid 65534"},
	{name: "own symlink to own directory", setup: func(t *testing.T, base string) string {
		target := mkdir(t, base, "target", 0o700)
		link := filepath.Join(base, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		return link
	}},
	{name: "a file", setup: func(t *testing.T, base string) string {
		p := filepath.Join(base, "f")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}, wantErr: "not a directory"},
}

func TestOpen(t *testing.T) {
	euid := os.Geteuid()
	for _, tt := range openTests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot && euid != 0 {
				t.Skip("needs root to give a file away")
			}
			path := tt.setup(t, t.TempDir())
			d, err := Open(path, euid)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open(%s): %v, want it opened", path, err)
				}
				d.Root.Close()
				if err := Inspect(path, euid); err != nil {
					t.Errorf("Inspect(%s): %v, want no error as Open", path, err)
				}
				return
			}
			if err == nil {
				d.Root.Close()
				t.Fatalf("Open(%s): opened, want an error containing %q", path, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open(%s): got %q, want it to name the path and say %q", path, err, tt.wantErr)
			}
			if err := Inspect(path, euid); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Inspect(%s): got %v, want the same refusal as Open", path, err)
			}
		})
	}
}

// TestOpenActsOnOpenedDirectory: once opened, the directory is used through its
// descriptor: renaming it away and planting a symlink at its path (to a directory the
// agent must not write in) changes nothing.
func TestOpenActsOnOpenedDirectory(t *testing.T) {
	base := t.TempDir()
	path := mkdir(t, base, "state", 0o700)
	d, err := Open(path, os.Geteuid())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Root.Close()
	victim := mkdir(t, base, "victim", 0o700)
	if err := os.Rename(path, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := d.Root.WriteFile("status.json", []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, "moved", "status.json")); err != nil {
		t.Errorf("the file is not in the opened directory: %v", err)
	}
	if entries, _ := os.ReadDir(victim); len(entries) != 0 {
		t.Errorf("got %d files in the directory the path now points to, want none", len(entries))
	}
}

func mkdir(t *testing.T, base, name string, mode os.FileMode) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil { // exact, whatever the umask
		t.Fatal(err)
	}
	return dir
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}
