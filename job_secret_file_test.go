package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"jobsshd/internal/testenv"
	"jobsshd/jobtrust"
)

// TestReadJobSecretFileAsRoot: as root, --job-secret-file is read only from a path that
// root alone decided; a symlink in a directory another uid owns, pointing at a
// root-only file, is refused (issue 10, item 1). Needs root.
func TestReadJobSecretFileAsRoot(t *testing.T) {
	testenv.RequireRoot(t, "the refusal is about a root agent")
	base := t.TempDir()
	secret := filepath.Join(base, "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readJobSecretFile(secret)
	if err != nil || string(got) != "0123456789abcdef-secret" {
		t.Errorf("root's secret file: got %q, %v; want the secret without its line end", got, err)
	}
	userDir := filepath.Join(base, "user")
	if err := os.Mkdir(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(userDir, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(userDir, "secret")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if got, err := readJobSecretFile(link); !errors.Is(err, jobtrust.ErrNotRootOnly) {
		t.Errorf("symlink in another uid's directory: got %q, %v; want a refusal wrapping ErrNotRootOnly", got, err)
	}
}
