package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketMode is the mode of the unix sockets the agent creates for the user (forwards
// and the ssh-agent socket): connecting to a socket needs write permission on it, so only
// the user can. OpenSSH's StreamLocalBindMask default, 0177, gives the same.
const socketMode = 0o600

// asAccount runs fn as the served account (account.Account.Do): the kernel checks what
// fn opens, creates, binds and connects to as for the account, and a socket fn connects
// or binds belongs to the account, even while the agent runs as root.
func (s *Server) asAccount(fn func() error) error { return s.account.Do(fn) }

// dialUnixAsAccount connects to the unix socket at path as the account: a socket the
// account could not connect to itself stays out of reach, and its server sees the
// account as its peer (SO_PEERCRED), not root.
func (s *Server) dialUnixAsAccount(ctx context.Context, path string) (*net.UnixConn, error) {
	var conn net.Conn
	err := s.asAccount(func() error {
		var err error
		d := net.Dialer{Timeout: forwardDialTimeout}
		conn, err = d.DialContext(ctx, "unix", path)
		return err
	})
	if err != nil {
		return nil, err
	}
	return conn.(*net.UnixConn), nil
}

// accountSocket is a listening unix socket the agent created for the account.
type accountSocket struct {
	*net.UnixListener
	path string
	info fs.FileInfo // of the socket file as created, to remove only that one
}

// listenUnixAsAccount creates a listening socket at path, as the account, with mode
// socketMode whatever the umask. An existing file at path is an error (OpenSSH's
// StreamLocalBindUnlink no): the agent never removes what it did not create.
func (s *Server) listenUnixAsAccount(path string) (*accountSocket, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		// Linux gives the socket file the socket inode's mode at bind (unix(7)), so
		// a fchmod before bind leaves no moment in which others could connect.
		var err error
		if cerr := rc.Control(func(fd uintptr) { err = unix.Fchmod(int(fd), socketMode) }); cerr != nil {
			return cerr
		}
		return err
	}}
	sock := &accountSocket{path: path}
	err := s.asAccount(func() error {
		ln, err := lc.Listen(context.Background(), "unix", path)
		if err != nil {
			return err
		}
		sock.UnixListener = ln.(*net.UnixListener)
		// Close would unlink path as root, through directories the account controls
		// and could swap for a symlink; remove unlinks as the account instead.
		sock.SetUnlinkOnClose(false)
		if sock.info, err = os.Lstat(path); err != nil {
			sock.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s as %s: %w", path, s.account.Name, err)
	}
	return sock, nil
}

// closeAndRemove stops listening and removes the socket file, as the account, when it
// is still the one the agent created.
func (s *Server) closeAndRemove(sock *accountSocket) error {
	sock.Close()
	err := s.asAccount(func() error {
		st, err := os.Lstat(sock.path)
		if err != nil || !os.SameFile(st, sock.info) {
			return err // gone, or replaced by the user: not ours to remove
		}
		return os.Remove(sock.path)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove socket %s: %w", sock.path, err)
	}
	return nil
}
