package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// agentSocket is a connection's forwarded ssh-agent: a socket in a directory of its own
// that programs of the account reach through SSH_AUTH_SOCK, each connection to it
// forwarded to the client's agent over an "auth-agent@openssh.com" channel (OpenSSH's
// PROTOCOL.agent).
type agentSocket struct {
	srv  *Server
	dir  string
	sock *accountSocket
}

// agentSocketPath serves "auth-agent-req@openssh.com" (ssh -A) for a session and
// returns the socket for its SSH_AUTH_SOCK. A connection has one agent socket, made at
// the first request and shared by its later sessions that ask, like sshd's; it goes
// away with the connection.
func (c *connection) agentSocketPath() (string, error) {
	if err := c.permitForward(forwardAgent, forwardTarget{}); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending {
		return "", errors.New("agent forwarding: connection closing")
	}
	if c.agent != nil {
		return c.agent.sock.path, nil
	}
	a, err := c.srv.newAgentSocket()
	if err != nil {
		return "", err
	}
	c.agent = a
	c.spawn(func() {
		c.acceptForwarded(a.sock, func(net.Conn) (string, []byte) { return "auth-agent@openssh.com", nil })
	})
	c.log.Info("agent forwarding", "socket", a.sock.path)
	return a.sock.path, nil
}

// newAgentSocket creates a fresh directory, as the account and so owned by it, mode
// 0700, with the socket agent.<pid> in it, like sshd's /tmp/ssh-XXXXXXXXXX/agent.<pid>.
// MkdirTemp picks an unpredictable name and fails rather than reuse an existing one, so
// the account cannot plant the directory beforehand, and no other account can reach
// the socket. The directory is in the agent's temp dir ($TMPDIR or /tmp), which the
// sessions share, or in the account's home when that fails (see agentSocketDir).
func (s *Server) newAgentSocket() (*agentSocket, error) {
	var dir string
	err := s.asAccount(func() error {
		var err error
		dir, err = agentSocketDir(os.TempDir(), s.account.Home)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create agent socket directory as %s: %w", s.account.Name, err)
	}
	sock, err := s.listenUnixAsAccount(filepath.Join(dir, "agent."+strconv.Itoa(os.Getpid())))
	if err != nil {
		s.removeAgentDir(dir)
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	return &agentSocket{srv: s, dir: dir, sock: sock}, nil
}

// agentSocketDir creates the directory for an agent socket, mode 0700, in tmp, or in
// home when tmp is missing or not writable: a minimal image (a static binary and
// nothing else) has no /tmp, and without this fallback `ssh -A` would fail there. The
// home passed StrictModes when its authorized_keys was read (owned by the account or
// root, not writable by group or others), so no other account can reach the socket
// there either. It runs as the account.
func agentSocketDir(tmp, home string) (string, error) {
	dir, err := os.MkdirTemp(tmp, "jobsshd-agent-")
	if err != nil {
		var homeErr error
		if dir, homeErr = os.MkdirTemp(home, ".jobsshd-agent-"); homeErr != nil {
			return "", fmt.Errorf("%w; in the home directory instead: %w", err, homeErr)
		}
	}
	return dir, os.Chmod(dir, 0o700) // MkdirTemp's mode is 0700 less the umask already; be exact
}

// close stops forwarding new agent connections and removes the socket and its directory.
func (a *agentSocket) close() {
	if err := a.srv.closeAndRemove(a.sock); err != nil {
		a.srv.log.Warn("remove agent socket", "err", err)
	}
	a.srv.removeAgentDir(a.dir)
}

// removeAgentDir removes the directory, as the account: it is the account's, and
// whatever the account put in it goes too, with no way to make root remove anything
// else.
func (s *Server) removeAgentDir(dir string) {
	if err := s.asAccount(func() error { return os.RemoveAll(dir) }); err != nil {
		s.log.Warn("remove agent socket directory", "dir", dir, "err", err)
	}
}
