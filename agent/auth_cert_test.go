package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestTrustedCAFileRefusals: a --trusted-user-ca file that would trust more than it
// says is a configuration error, not something to skip.
func TestTrustedCAFileRefusals(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	caLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey())))
	tests := []struct {
		name, content, want string
	}{
		{"options", `from="10.0.0.0/8" ` + caLine, "options are not allowed"},
		{"not a key", "hello", "one public key per line"},
		{"empty", "# nothing\n", "holds no public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "ca.pub")
			if err := os.WriteFile(path, []byte(tt.content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadTrustedCAs([]string{path})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "ca.pub")
	if err := os.WriteFile(path, []byte(caLine+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	cfg := Config{User: "tester", StateDir: t.TempDir(), LookupAccount: func(string) (*Account, error) { return acct, nil },
		TrustedUserCAFiles: []string{path + ".missing"}}
	var cerr *ConfigError
	if _, err := New(cfg); !errors.As(err, &cerr) {
		t.Errorf("missing CA file: got %v, want a ConfigError", err)
	}
}
