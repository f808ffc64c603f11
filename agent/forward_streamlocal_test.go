package agent

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// startUnixEchoServer runs an echo server on a unix socket at path.
func startUnixEchoServer(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, ln)
}

func fileOwnerAndMode(t *testing.T, path string) (uid int, mode fs.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Sys().(*syscall.Stat_t).Uid), st.Mode()
}

func TestStreamLocalForwarding(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	dir := t.TempDir()

	t.Run("direct", func(t *testing.T) {
		path := filepath.Join(dir, "echo.sock")
		startUnixEchoServer(t, path)
		c, err := client.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkEcho(t, c.(halfCloser), 1<<20)
	})
	t.Run("direct to nothing", func(t *testing.T) {
		_, err := client.Dial("unix", filepath.Join(dir, "missing.sock"))
		if oce := openChannelError(t, err); oce.Reason != ssh.ConnectionFailed || !strings.Contains(oce.Message, "no such file") {
			t.Errorf("got %v %q, want connect failed: no such file", oce.Reason, oce.Message)
		}
	})
	t.Run("remote", func(t *testing.T) {
		path := filepath.Join(dir, "remote.sock")
		ln, err := client.ListenUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		serveEcho(t, ln)
		uid, mode := fileOwnerAndMode(t, path)
		if uid != os.Geteuid() || mode != fs.ModeSocket|socketMode {
			t.Errorf("socket: got owner %d mode %v, want %d %v", uid, mode, os.Geteuid(), fs.ModeSocket|socketMode)
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, c.(*net.UnixConn), 256<<10)
		c.Close()
		if err := ln.Close(); err != nil { // cancel-streamlocal-forward
			t.Fatal(err)
		}
		if !testwait.Until(testwait.Default, func() bool { _, err := os.Lstat(path); return errors.Is(err, fs.ErrNotExist) }) {
			t.Errorf("%s still exists after the forward was cancelled", path)
		}
	})
	t.Run("remote on an existing file", func(t *testing.T) {
		path := filepath.Join(dir, "existing")
		if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		if ln, err := client.ListenUnix(path); err == nil {
			ln.Close()
			t.Fatal("forward onto an existing file succeeded, want refused")
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
			t.Errorf("existing file: got %q, %v; want it untouched", b, err)
		}
	})
	t.Run("remote relative to home", func(t *testing.T) {
		ln, err := client.ListenUnix("rel.sock")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if _, err := os.Lstat(filepath.Join(srv.account.Home, "rel.sock")); err != nil {
			t.Errorf("relative socket path: %v, want it in the home directory", err)
		}
	})
}

// streamLocalAsAccount is what the TestStreamLocalAsAccount subtests share: a server
// for nobody run by root, a client of it, and in base a directory only root can enter
// (rootOnly) and one of nobody's (nobodys). The subtests run in order: the last ends
// the connection.
type streamLocalAsAccount struct {
	srv                     *Server
	client                  *ssh.Client
	base, rootOnly, nobodys string
}

// TestStreamLocalAsAccount pins that unix sockets are reached and created with the
// account's rights and identity while the agent runs as root.
func TestStreamLocalAsAccount(t *testing.T) {
	t.Parallel()
	srv, signer, base := startNobodyServer(t, nil)
	client := dialClient(t, srv, signer)

	rootOnly := filepath.Join(base, "root-only")
	if err := os.Mkdir(rootOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	nobodys := filepath.Join(base, "nobodys")
	if err := os.Mkdir(nobodys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(nobodys, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	sl := streamLocalAsAccount{srv: srv, client: client, base: base, rootOnly: rootOnly, nobodys: nobodys}
	t.Run("direct to a socket the account cannot reach", sl.directUnreachable)
	t.Run("direct peer is the account", sl.directPeer)
	t.Run("remote socket belongs to the account", sl.remoteOwned)
	t.Run("remote where the account cannot write", sl.remoteUnwritable)
	t.Run("removal does not follow a swapped directory", sl.removalNotFollowed)
}

func (sl streamLocalAsAccount) directUnreachable(t *testing.T) {
	path := filepath.Join(sl.rootOnly, "secret.sock")
	startUnixEchoServer(t, path)
	if err := os.Chmod(path, 0o666); err != nil { // only the directory protects it
		t.Fatal(err)
	}
	_, err := sl.client.Dial("unix", path)
	if oce := openChannelError(t, err); oce.Reason != ssh.ConnectionFailed || !strings.Contains(oce.Message, "permission denied") {
		t.Errorf("got %v %q, want connect failed: permission denied", oce.Reason, oce.Message)
	}
}

func (sl streamLocalAsAccount) directPeer(t *testing.T) {
	path := filepath.Join(sl.base, "open.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	c, err := sl.client.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if uid := peerUID(t, sc.(*net.UnixConn)); uid != nobody {
		t.Errorf("peer of the forwarded connection: got uid %d, want %d", uid, nobody)
	}
}

func (sl streamLocalAsAccount) remoteOwned(t *testing.T) {
	path := filepath.Join(sl.nobodys, "r.sock")
	ln, err := sl.client.ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if uid, mode := fileOwnerAndMode(t, path); uid != nobody || mode != fs.ModeSocket|socketMode {
		t.Errorf("socket: got owner %d mode %v, want %d %v", uid, mode, nobody, fs.ModeSocket|socketMode)
	}
}

func (sl streamLocalAsAccount) remoteUnwritable(t *testing.T) {
	path := filepath.Join(sl.base, "r.sock") // base is root's, 0755
	if ln, err := sl.client.ListenUnix(path); err == nil {
		ln.Close()
		t.Fatal("forward in a directory the account cannot write succeeded, want refused")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: got %v, want no file", path, err)
	}
}

func (sl streamLocalAsAccount) removalNotFollowed(t *testing.T) {
	sub := filepath.Join(sl.nobodys, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sub, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	ln, err := sl.client.ListenUnix(filepath.Join(sub, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	// The account swaps the directory for a symlink to one of root's holding a
	// file of the socket's name; the agent must not remove that file.
	victim := filepath.Join(sl.rootOnly, "s.sock")
	if err := os.WriteFile(victim, []byte("root's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(sub, sub+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sl.rootOnly, sub); err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	sl.client.Close() // the connection's end removes anything left: still not root's file
	if !testwait.Until(testwait.Default, func() bool { sl.srv.mu.Lock(); defer sl.srv.mu.Unlock(); return len(sl.srv.conns) == 0 }) {
		t.Fatal("connection still served after the client left")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("root's file next to the swapped directory: %v, want it kept", err)
	}
}

func peerUID(t *testing.T, c *net.UnixConn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		t.Fatal(err)
	}
	if credErr != nil {
		t.Fatal(credErr)
	}
	return int(cred.Uid)
}
