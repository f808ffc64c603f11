package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// TestMaxAuthTriesCountsQueries: --max-auth-tries N bounds the keys a client may offer
// on one connection to N, also for a client that asks before it signs (x/crypto's
// client does, as OpenSSH and PuTTY do). golang.org/x/crypto v0.59.0 stopped counting
// the first MaxAuthTries refused queries (ssh/server.go, pubKeyQueryFailures), so with
// its count alone 2N wrong keys would be looked at and the right key after them would
// log in; auth_tries.go keeps the bound at N.
func TestMaxAuthTriesCountsQueries(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, right := startTestServerFor(t, acct, func(c *Config) {
		c.MaxAuthTries = 2
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	// A client that runs out of keys gives up ("unable to authenticate"); one with
	// more keys is disconnected by x/crypto's own count, which since v0.59.0 comes N
	// refused queries later than the agent's.
	tests := []struct {
		name      string
		wrong     int
		wantLogin bool
		wantErr   string
	}{
		{name: "one wrong key, then the right one", wrong: 1, wantLogin: true},
		{name: "two wrong keys, then the right one", wrong: 2, wantErr: "unable to authenticate"},
		{name: "five wrong keys, then the right one", wrong: 5, wantErr: "too many authentication failures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signers := append(wrongSigners(t, tt.wrong), right)
			var banner string
			c, err := ssh.Dial("tcp", srv.ln.Addr().String(), &ssh.ClientConfig{
				User:            "tester",
				Auth:            []ssh.AuthMethod{ssh.PublicKeys(signers...)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(),
				BannerCallback:  func(msg string) error { banner += msg; return nil },
				Timeout:         10 * time.Second,
			})
			if err == nil {
				c.Close()
			}
			if got := err == nil; got != tt.wantLogin {
				t.Fatalf("%d wrong keys then the right one with --max-auth-tries 2: logged in %v (err %v), want %v", tt.wrong, got, err, tt.wantLogin)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("login error: got %v, want it to say %q", err, tt.wantErr)
			}
			if !tt.wantLogin && !strings.Contains(banner, "too many authentication failures") {
				t.Errorf("banner: got %q, want it to say \"too many authentication failures\"", banner)
			}
		})
	}
	// Every refused key is logged as auth.reject: with --max-auth-tries 2, at most 2 a
	// connection after being looked at (1 + 2 + 2), and the rest as not examined: the
	// right key after two wrong ones, and the third and fourth of five wrong ones, after
	// which x/crypto disconnects.
	if !testwait.Until(5*time.Second, func() bool { return strings.Count(logs.String(), "login refused") == 2 }) {
		t.Fatalf("want 2 refused logins logged, got:\n%s", logs.String())
	}
	examined, unseen := 0, 0
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case !strings.Contains(line, "event=auth.reject"):
		case strings.Contains(line, "not examined"):
			unseen++
		default:
			examined++
		}
	}
	if examined != 5 || unseen != 3 {
		t.Errorf("auth.reject lines: got %d keys examined and %d not, want 5 and 3:\n%s", examined, unseen, logs.String())
	}
}

// wrongSigners returns n fresh keys no source lists.
func wrongSigners(t *testing.T, n int) []ssh.Signer {
	t.Helper()
	var signers []ssh.Signer
	for range n {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	return signers
}
