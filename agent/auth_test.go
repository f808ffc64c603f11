package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestAuthorizedKeyOptionsNotYetEnforcedRefuse pins that a key whose authorized_keys line
// carries options is refused, not accepted without its restrictions, while the options
// are not enforced; the same key on a plain line still logs in.
func TestAuthorizedKeyOptionsNotYetEnforcedRefuse(t *testing.T) {
	t.Parallel()
	newSigner := func() ssh.Signer {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	restricted, plain, both := newSigner(), newSigner(), newSigner()
	line := func(opts string, s ssh.Signer) string {
		return opts + string(ssh.MarshalAuthorizedKey(s.PublicKey()))
	}
	srv, _ := startTestServer(t)
	sshDir := filepath.Join(srv.account.Home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	content := line(`from="10.0.0.0/8",no-pty `, restricted) + line("", plain) +
		line(`command="true" `, both) + line("", both)
	if err := os.WriteFile(filepath.Join(sshDir, "authorized_keys"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		signer ssh.Signer
		want   bool
	}{
		{"line with options", restricted, false},
		{"plain line", plain, true},
		{"same key also on a plain line", both, true},
	}
	for _, tt := range tests {
		_, err := dial(t, srv, "tester", tt.signer)
		if got := err == nil; got != tt.want {
			t.Errorf("%s: got login %v (%v), want %v", tt.name, got, err, tt.want)
		}
	}
}
