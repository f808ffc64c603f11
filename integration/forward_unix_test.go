package integration

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// startUnixEchoServer runs an echo server on a unix socket at path, owned by uid:gid
// with mode.
func startUnixEchoServer(t *testing.T, path string, uid, gid int, mode fs.FileMode) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, ln)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestForwardLocalUnix: ssh -L PORT:/path.sock to a socket the served account may use.
func TestForwardLocalUnix(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "echo.sock")
	startUnixEchoServer(t, sock, a.Account.UID, a.Account.GID, 0o600)
	lport := freePort(t)
	tn := a.sshTunnel(t, "ERROR", "-L", hostPort("127.0.0.1", lport)+":"+sock)
	tn.waitListening(hostPort("127.0.0.1", lport))
	if err := echoThrough("tcp", hostPort("127.0.0.1", lport), 1<<20, true); err != nil {
		t.Fatal(err)
	}
}

// TestForwardLocalUnixRefused: a socket the account cannot reach (in root's 0700
// directory, though the socket itself is 0666) stays out of reach through the agent,
// which runs as root; so does creating one where the account cannot write.
func TestForwardLocalUnixRefused(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	dir := shortTempDir(t)
	rootOnly := filepath.Join(dir, "root")
	if err := os.Mkdir(rootOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(rootOnly, "secret.sock")
	startUnixEchoServer(t, sock, 0, 0, 0o666)

	t.Run("local", func(t *testing.T) {
		lport := freePort(t)
		tn := a.sshTunnel(t, "INFO", "-L", hostPort("127.0.0.1", lport)+":"+sock)
		tn.waitListening(hostPort("127.0.0.1", lport))
		if !closedAt("tcp", hostPort("127.0.0.1", lport)) {
			t.Errorf("ssh -L to %s: the tunnel carried data, want it refused", sock)
		}
		if !testwait.Until(5*time.Second, func() bool { return strings.Contains(tn.Output(), "permission denied") }) {
			t.Errorf("ssh -L: client output %q, want the open failure with \"permission denied\"", tn.Output())
		}
	})
	t.Run("remote", func(t *testing.T) {
		path := filepath.Join(rootOnly, "r.sock")
		tn := a.sshTunnel(t, "ERROR", "-R", path+":"+hostPort("127.0.0.1", 1))
		if code, err := tn.Wait(tunnelTimeout); err != nil || code != 255 {
			t.Errorf("ssh -R %s: got exit %d, %v, want 255 (forwarding failed)", path, code, err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: got %v, want no socket created in root's directory", path, err)
		}
	})
	if !strings.Contains(a.Logs(), "permission denied") {
		t.Error("agent logs do not mention the refused socket")
	}
}

// TestForwardRemoteUnix: ssh -R /path.sock:host:port creates the socket as the account,
// 0600, forwards connections to it, and removes it when the client leaves.
func TestForwardRemoteUnix(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	echo := startEchoServer(t)
	dir := shortTempDir(t)
	if err := os.Chown(dir, a.Account.UID, a.Account.GID); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "remote.sock")
	tn := a.sshTunnel(t, "ERROR", "-R", sock+":"+hostPort("127.0.0.1", echo))
	tn.waitListening(sock)
	st, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if uid := int(st.Sys().(*syscall.Stat_t).Uid); uid != a.Account.UID || st.Mode() != fs.ModeSocket|0o600 {
		t.Errorf("%s: got owner %d mode %v, want %d %v", sock, uid, st.Mode(), a.Account.UID, fs.ModeSocket|0o600)
	}
	if err := echoThrough("unix", sock, 1<<20, true); err != nil {
		t.Fatal(err)
	}
	tn.Stop()
	if !testwait.Until(10*time.Second, func() bool { _, err := os.Lstat(sock); return errors.Is(err, fs.ErrNotExist) }) {
		t.Errorf("%s still exists after the client left", sock)
	}
}
