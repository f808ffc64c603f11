package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"jobsshd/internal/testwait"
)

// clientWithAuthAgent logs in and offers ssh-agent forwarding from a keyring holding one key
// with the comment "forwarded-key".
func clientWithAuthAgent(t *testing.T, srv *Server, signer ssh.Signer) *ssh.Client {
	t.Helper()
	client := dialClient(t, srv, signer)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv, Comment: "forwarded-key"}); err != nil {
		t.Fatal(err)
	}
	if err := agent.ForwardToAgent(client, keyring); err != nil {
		t.Fatal(err)
	}
	return client
}

// authSockOf runs a session that asks for ssh-agent forwarding and returns its
// SSH_AUTH_SOCK, and whether the request succeeded.
func authSockOf(t *testing.T, client *ssh.Client) (string, error) {
	t.Helper()
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reqErr := agent.RequestAgentForwarding(s)
	out, err := s.Output(`printf %s "$SSH_AUTH_SOCK"`)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), reqErr
}

// listForwardedKeys asks the ssh-agent behind path for its keys, as the client's ssh-agent
// answers them through the connection.
func listForwardedKeys(t *testing.T, path string) []*agent.Key {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys, err := agent.NewClient(c).List()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestAuthAgentForwarding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		start   func(t *testing.T) (*Server, ssh.Signer)
		wantUID int
	}{
		{name: "serving the agent's own account", start: func(t *testing.T) (*Server, ssh.Signer) { return startTestServer(t) }, wantUID: os.Geteuid()},
		{name: "serving another account", start: func(t *testing.T) (*Server, ssh.Signer) {
			srv, signer, _ := startNobodyServer(t, nil)
			return srv, signer
		}, wantUID: nobody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, signer := tt.start(t)
			client := clientWithAuthAgent(t, srv, signer)
			sock, err := authSockOf(t, client)
			if err != nil || sock == "" {
				t.Fatalf("ssh-agent forwarding: got SSH_AUTH_SOCK %q, %v; want a socket", sock, err)
			}
			if again, err := authSockOf(t, client); err != nil || again != sock {
				t.Errorf("second session: got %q, %v; want the connection's socket %q", again, err, sock)
			}
			dir := filepath.Dir(sock)
			if uid, mode := fileOwnerAndMode(t, dir); uid != tt.wantUID || mode != fs.ModeDir|0o700 {
				t.Errorf("socket directory: got owner %d mode %v, want %d %v", uid, mode, tt.wantUID, fs.ModeDir|0o700)
			}
			if uid, mode := fileOwnerAndMode(t, sock); uid != tt.wantUID || mode != fs.ModeSocket|socketMode {
				t.Errorf("socket: got owner %d mode %v, want %d %v", uid, mode, tt.wantUID, fs.ModeSocket|socketMode)
			}
			keys := listForwardedKeys(t, sock)
			if len(keys) != 1 || keys[0].Comment != "forwarded-key" {
				t.Errorf("keys through %s: got %v, want the client's forwarded-key", sock, keys)
			}
			client.Close()
			if !testwait.Until(testwait.Default, func() bool { _, err := os.Lstat(dir); return errors.Is(err, fs.ErrNotExist) }) {
				t.Errorf("%s still exists after the connection ended", dir)
			}
		})
	}
}

func TestAuthAgentForwardingNotRequested(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output(`printf %s "${SSH_AUTH_SOCK-unset}"`)
	if err != nil || string(out) != "unset" {
		t.Errorf("got %q, %v; want SSH_AUTH_SOCK unset without ssh-agent forwarding", out, err)
	}
}
