package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewRefusesUnsafeStateDir: a state directory its group or others can write (a
// Kubernetes fsGroup volume) lets them race the agent's files there, so the agent
// refuses it, as a configuration error naming the fix (issue 10, item 2).
func TestNewRefusesUnsafeStateDir(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o2770, 0o1777, 0o720} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			stateDir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(stateDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(stateDir, mode); err != nil {
				t.Fatal(err)
			}
			_, err := New(testStatusConfig(t, stateDir))
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), stateDir) || !strings.Contains(err.Error(), "chmod go-w") {
				t.Fatalf("New: got %v, want a ConfigError naming %s and the fix", err, stateDir)
			}
			if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
				t.Errorf("got %d files written in the refused directory, want none", len(entries))
			}
		})
	}
}

// TestStatusWrittenInOpenedStateDir: status.json goes to the state directory New
// checked, through its descriptor. Moving the directory away and planting a symlink at
// its path (to a directory of someone else's choosing) before Listen writes status.json
// changes nothing: nothing is created or chmodded there (issue 10, item 2).
func TestStatusWrittenInOpenedStateDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	stateDir := filepath.Join(base, "state")
	srv, err := New(testStatusConfig(t, stateDir))
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(base, "victim")
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(base, "moved")
	if err := os.Rename(stateDir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, stateDir); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	if entries, _ := os.ReadDir(victim); len(entries) != 0 {
		t.Errorf("got %v in the directory planted at the state dir's path, want nothing", entries)
	}
	fi, err := os.Stat(filepath.Join(moved, StatusFileName))
	if err != nil {
		t.Fatalf("status.json not in the opened state directory: %v", err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o644); got != want {
		t.Errorf("status.json mode: got %v, want %v", got, want)
	}
}

func testStatusConfig(t *testing.T, stateDir string) Config {
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	return Config{User: "tester", Bind: "127.0.0.1", StateDir: stateDir,
		LookupAccount: func(string) (*Account, error) { return acct, nil }, Environ: []string{"PATH=/bin"}}
}
