package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestStatusFileLifecycle: status.json means "listening": a stale one from an earlier
// run is gone once New returns, it appears with Listen and goes with Shutdown.
func TestStatusFileLifecycle(t *testing.T) {
	t.Parallel()
	stateDir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(stateDir, StatusFileName)
	if err := os.WriteFile(path, []byte(`{"pid": 1, "port": 2222}`), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, err := New(Config{User: "tester", Bind: "127.0.0.1", StateDir: stateDir,
		LookupAccount: func(string) (*Account, error) { return acct, nil }, Environ: []string{"PATH=/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after New: %s still there (%v), want the stale file removed", path, err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("after Listen: %v, want %s", err, path)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Shutdown: %s still there (%v), want it removed", path, err)
	}
}
