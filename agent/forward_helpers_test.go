package agent

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testenv"
)

// halfCloser is a connection whose write side can be closed alone: TCP, unix and SSH
// channel connections.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// serveEcho echoes every connection ln accepts until the connection's EOF, then closes
// it; it stops, and the test waits for it, at cleanup.
func serveEcho(t testing.TB, ln net.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}

// startEchoServer runs an echo server on 127.0.0.1 and returns its address.
func startEchoServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, ln)
	return ln.Addr().String()
}

// echoRoundTrip sends data, then EOF, and returns all it reads back until the peer's
// EOF: through an echo server, the same bytes, which needs the half-close to cross.
func echoRoundTrip(c halfCloser, data []byte) ([]byte, error) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	got, rerr := io.ReadAll(c)
	if err := <-werr; err != nil {
		return got, fmt.Errorf("write: %w", err)
	}
	if rerr != nil {
		return got, fmt.Errorf("read: %w", rerr)
	}
	return got, nil
}

func checkEcho(t testing.TB, c halfCloser, size int) {
	t.Helper()
	data := randomBytes(t, size)
	got, err := echoRoundTrip(c, data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes back, want the %d sent", len(got), len(data))
	}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// dialClient logs in to srv as "tester" and fails the test if it cannot.
func dialClient(t testing.TB, srv *Server, signer ssh.Signer) *ssh.Client {
	t.Helper()
	c, err := dial(t, srv, "tester", signer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openChannelError is the reason a channel open was refused, or fails the test.
func openChannelError(t testing.TB, err error) *ssh.OpenChannelError {
	t.Helper()
	var oce *ssh.OpenChannelError
	if !errors.As(err, &oce) {
		t.Fatalf("got %v, want a channel open failure", err)
	}
	return oce
}

// refused reports whether nothing listens on the TCP address any more.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

// nobody is the unprivileged account root tests serve: it needs no passwd entry.
const nobody = 65534

// startNobodyServer serves uid and gid 65534, with a home of its own, when the test
// runs as root: the case where the agent acts for another account. It skips otherwise
// (fails under JOBSSHD_INTEGRATION=1): the integration tests cover the same ground.
func startNobodyServer(t *testing.T, configure func(*Config)) (*Server, ssh.Signer, string) {
	t.Helper()
	testenv.RequireRoot(t, "serving another account")
	base := traversableDir(t)
	home := filepath.Join(base, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	acct := &Account{Name: "tester", UID: nobody, GID: nobody, Groups: []uint32{nobody}, Home: home, Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, configure)
	return srv, signer, base
}

// traversableDir is a fresh directory every account can enter (t.TempDir's parent is
// 0700).
func traversableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jobsshd-forward-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
