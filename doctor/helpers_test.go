package doctor

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/account"
)

// selfAccount is an account for this test process's own uid, whose home is a fresh
// temp dir, so that the checks open files with the identity they already have.
func selfAccount(t *testing.T) *account.Account {
	t.Helper()
	home := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	return &account.Account{Name: "tester", UID: uint32(uid), GID: uint32(gid), Groups: []uint32{uint32(gid)},
		Home: home, Shell: "/bin/sh"}
}

// writeFile writes data to path with mode, creating its directory (0700).
func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
}

// newKey returns an ed25519 key as an OpenSSH private key file and its public key.
func newKey(t *testing.T) ([]byte, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), pub
}

// only returns the single finding r holds whose What contains substr, failing the test
// when there is none or several.
func only(t *testing.T, r *Report, substr string) Finding {
	t.Helper()
	var found []Finding
	for _, f := range r.Findings {
		if strings.Contains(f.What, substr) {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		t.Fatalf("findings containing %q: got %d, want 1; all findings:\n%s", substr, len(found), dump(r))
	}
	return found[0]
}

// want checks f's severity and that its fix contains fix.
func want(t *testing.T, r *Report, f Finding, sev Severity, fix string) {
	t.Helper()
	if f.Severity != sev || !strings.Contains(f.Fix, fix) {
		t.Errorf("finding %q: got %v with fix %q, want %v with a fix containing %q; all findings:\n%s",
			f.What, f.Severity, f.Fix, sev, fix, dump(r))
	}
}

func dump(r *Report) string {
	var b strings.Builder
	if err := r.Write(&b); err != nil {
		return err.Error()
	}
	return b.String()
}
