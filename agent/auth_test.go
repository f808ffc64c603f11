package agent

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// TestUnauthenticatedLimit: connections that never log in hold a slot each until the
// handshake timeout; beyond the limit new ones are closed at once, and a slot freed by a
// leaving connection is usable again.
func TestUnauthenticatedLimit(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, func(c *Config) { c.MaxUnauthenticated = 2 })
	var idle []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", srv.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
		// Read the server's version line: the connection now holds its slot.
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dial(t, srv, "tester", signer); err == nil {
		t.Fatal("login succeeded with every unauthenticated slot taken, want refused")
	}
	idle[0].Close()
	ok := false
	for i := 0; i < 50 && !ok; i++ { // the server notices the close asynchronously
		_, err := dial(t, srv, "tester", signer)
		ok = err == nil
		if !ok {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !ok {
		t.Error("login still refused after an idle connection left")
	}
}
