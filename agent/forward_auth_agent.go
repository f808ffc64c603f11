package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// authAgentSocket is a connection's forwarded ssh-agent (ssh -A): a socket in a directory of
// its own that programs of the account reach through SSH_AUTH_SOCK, each connection to it
// forwarded to the client's ssh-agent over an "auth-agent@openssh.com" channel (OpenSSH's
// PROTOCOL.agent).
type authAgentSocket struct {
	srv  *Server
	dir  string
	sock *accountSocket
}

// authAgentSocketPath serves "auth-agent-req@openssh.com" (ssh -A) for a session and
// returns the socket for its SSH_AUTH_SOCK. A connection has one ssh-agent socket, made at
// the first request and shared by its later sessions that ask, like sshd's; it goes
// away with the connection.
func (c *connection) authAgentSocketPath() (string, error) {
	if err := c.permitForward(forwardAuthAgent, forwardTarget{}); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending {
		return "", errors.New("agent forwarding: connection closing")
	}
	if c.authAgent != nil {
		return c.authAgent.sock.path, nil
	}
	a, err := c.srv.newAuthAgentSocket()
	if err != nil {
		return "", err
	}
	c.authAgent = a
	c.spawn(func() {
		c.acceptForwarded(a.sock, func(net.Conn) (string, []byte) { return "auth-agent@openssh.com", nil })
	})
	c.log.Info("agent forwarding", "socket", a.sock.path)
	return a.sock.path, nil
}

// newAuthAgentSocket creates a fresh directory, as the account and so owned by it, mode
// 0700, with the socket agent.<pid> in it, like sshd's /tmp/ssh-XXXXXXXXXX/agent.<pid>.
// MkdirTemp picks an unpredictable name and fails rather than reuse an existing one, so
// the account cannot plant the directory beforehand, and no other account can reach
// the socket. The directory is in the agent's temp dir ($TMPDIR or /tmp), which the
// sessions share, or in the account's home when that fails (see authAgentSocketDir).
func (s *Server) newAuthAgentSocket() (*authAgentSocket, error) {
	var dir string
	err := s.asAccount(func() error {
		var err error
		dir, err = authAgentSocketDir(os.TempDir(), s.account.Home)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create agent socket directory as %s: %w", s.account.Name, err)
	}
	sock, err := s.listenUnixAsAccount(filepath.Join(dir, "agent."+strconv.Itoa(os.Getpid())))
	if err != nil {
		s.removeAuthAgentDir(dir)
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	return &authAgentSocket{srv: s, dir: dir, sock: sock}, nil
}

// authAgentSocketDir creates the directory for an ssh-agent socket, mode 0700, in tmp, or in
// home when tmp is missing or not writable: a minimal image (a static binary and
// nothing else) has no /tmp, and without this fallback `ssh -A` would fail there. The
// home passed StrictModes when its authorized_keys was read (owned by the account or
// root, not writable by group or others), so no other account can reach the socket
// there either. It runs as the account.
func authAgentSocketDir(tmp, home string) (string, error) {
	dir, err := os.MkdirTemp(tmp, "jobsshd-agent-")
	if err != nil {
		var homeErr error
		if dir, homeErr = os.MkdirTemp(home, ".jobsshd-agent-"); homeErr != nil {
			return "", fmt.Errorf("%w; in the home directory instead: %w", err, homeErr)
		}
	}
	return dir, os.Chmod(dir, 0o700) // MkdirTemp's mode is 0700 less the umask already; be exact
}

// close stops forwarding new ssh-agent connections and removes the socket and its directory.
func (a *authAgentSocket) close() {
	if err := a.srv.closeAndRemove(a.sock); err != nil {
		a.srv.log.Warn("remove agent socket", "err", err)
	}
	a.srv.removeAuthAgentDir(a.dir)
}

// removeAuthAgentDir removes the directory, as the account: it is the account's, and
// whatever the account put in it goes too, with no way to make root remove anything
// else.
func (s *Server) removeAuthAgentDir(dir string) {
	if err := s.asAccount(func() error { return os.RemoveAll(dir) }); err != nil {
		s.log.Warn("remove agent socket directory", "dir", dir, "err", err)
	}
}
