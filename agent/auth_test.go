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

	"jobsshd/internal/testwait"
)

// TestAuthorizedKeyLineConditions: a line's from= and expiry-time= decide whether its
// key logs in; the same key on another, unrestricted line still does.
func TestAuthorizedKeyLineConditions(t *testing.T) {
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
	elsewhere, here, expired, valid, both := newSigner(), newSigner(), newSigner(), newSigner(), newSigner()
	line := func(opts string, s ssh.Signer) string {
		return opts + string(ssh.MarshalAuthorizedKey(s.PublicKey()))
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, _ := startTestServerFor(t, acct, func(c *Config) { c.Now = func() time.Time { return now } })
	sshDir := filepath.Join(srv.account.Home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	content := line(`from="10.0.0.0/8",no-pty `, elsewhere) + line(`from="10.0.0.0/8,127.0.0.1" `, here) +
		line(`expiry-time="20260531Z" `, expired) + line(`expiry-time="20260602Z" `, valid) +
		line(`from="192.0.2.1" `, both) + line("", both)
	if err := os.WriteFile(filepath.Join(sshDir, "authorized_keys"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		signer ssh.Signer
		want   bool
	}{
		{"from= another network", elsewhere, false},
		{"from= this address", here, true},
		{"expiry-time passed", expired, false},
		{"expiry-time ahead", valid, true},
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
	srv.startups.setRandom(func() float64 { return 1 }) // the full bound only: no random early drop
	var idle []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", srv.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
		// Read the server's version line and send a whole preamble and the start of
		// the next packet: the connection now holds its slot, and no newcomer may take
		// it for the next idleEvictAfter (3 s).
		if _, err := c.Write(clientPreambleGoingOn()); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Peek(5); err != nil { // the server's KEXINIT: it took ours
			t.Fatalf("no KEXINIT from the server after ours: %v", err)
		}
	}
	if _, err := dial(t, srv, "tester", signer); err == nil {
		t.Fatal("login succeeded with every unauthenticated slot taken, want refused")
	}
	idle[0].Close()
	// The server notices the close asynchronously.
	if !testwait.Until(testwait.Default, func() bool { _, err := dial(t, srv, "tester", signer); return err == nil }) {
		t.Error("login still refused after an idle connection left")
	}
}
