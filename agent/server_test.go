package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// startTestServer runs a Server on 127.0.0.1:0 serving the account the test runs as
// (with /bin/sh), and returns it with a client signer its id_container key accepts.
func startTestServer(t testing.TB) (*Server, ssh.Signer) {
	t.Helper()
	dir := t.TempDir()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: dir, Shell: "/bin/sh"}
	return startTestServerFor(t, acct, nil)
}

// startTestServerFor is startTestServer serving acct (named "tester"), with the Config
// changed by configure when it is not nil.
func startTestServerFor(t testing.TB, acct *Account, configure func(*Config)) (*Server, ssh.Signer) {
	t.Helper()
	cfg := Config{
		User:          "tester",
		Bind:          "127.0.0.1",
		StateDir:      filepath.Join(t.TempDir(), "state"),
		LookupAccount: func(string) (*Account, error) { return acct, nil },
		Environ:       []string{"PATH=" + os.Getenv("PATH"), "VC_WORKER_HOSTS=w0,w1", "JOBSSHD_SECRET=x"},
		Logger:        slog.New(slog.DiscardHandler),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serveTestServer(t, srv)
}

// serveTestServer has srv, made by New, listen and serve until the test ends, and
// returns it with a client signer its id_container key accepts.
func serveTestServer(t testing.TB, srv *Server) (*Server, ssh.Signer) {
	t.Helper()
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	pem, err := os.ReadFile(srv.userKey.PrivatePath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return srv, signer
}

func dial(t testing.TB, srv *Server, user string, signer ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	c, err := ssh.Dial("tcp", srv.ln.Addr().String(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// runSetUpSession runs cmd in a new session of client, after setup (when not nil) has
// set the session up, and returns its stdout, its stderr and how it ended.
func runSetUpSession(t *testing.T, client *ssh.Client, setup func(*ssh.Session), cmd string) (string, string, error) {
	t.Helper()
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if setup != nil {
		setup(s)
	}
	err = s.Run(cmd)
	return stdout.String(), stderr.String(), err
}

func TestSessionsEndToEnd(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client, err := dial(t, srv, "tester", signer)
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, setup func(*ssh.Session), cmd string) (string, string, error) {
		t.Helper()
		return runSetUpSession(t, client, setup, cmd)
	}

	t.Run("exit status and streams", func(t *testing.T) {
		out, errOut, err := run(t, nil, "echo out; echo err >&2; exit 5")
		var exitErr *ssh.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 5 {
			t.Fatalf("got %v, want exit status 5", err)
		}
		if out != "out\n" || errOut != "err\n" {
			t.Errorf("got stdout %q stderr %q, want \"out\\n\" and \"err\\n\"", out, errOut)
		}
	})
	t.Run("exit signal", func(t *testing.T) {
		_, _, err := run(t, nil, "kill -TERM $$")
		var exitErr *ssh.ExitError
		if !errors.As(err, &exitErr) || exitErr.Signal() != "TERM" {
			t.Fatalf("got %v, want exit signal TERM", err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		out, _, err := run(t, func(s *ssh.Session) {
			if err := s.Setenv("LANG", "C.UTF-8"); err != nil {
				t.Errorf("LANG refused: %v", err)
			}
			if err := s.Setenv("LD_PRELOAD", "/tmp/evil.so"); err == nil {
				t.Error("LD_PRELOAD accepted, want refused")
			}
		}, `echo "$VC_WORKER_HOSTS|$JOBSSHD_SECRET|$LANG|$LD_PRELOAD|$HOME|$USER|$(pwd)"`)
		if err != nil {
			t.Fatal(err)
		}
		want := "w0,w1||C.UTF-8||" + srv.account.Home + "|tester|" + srv.account.Home + "\n"
		if out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})
	t.Run("pty output is byte exact", func(t *testing.T) {
		out, _, err := run(t, func(s *ssh.Session) {
			if err := s.RequestPty("xterm", 40, 100, ssh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
		}, `stty raw -echo; printf 'a\nb\r\nc'; stty size >/dev/null`)
		if err != nil {
			t.Fatal(err)
		}
		if out != "a\nb\r\nc" {
			t.Errorf("got %q, want %q", out, "a\nb\r\nc")
		}
	})
	t.Run("pty size and terminal", func(t *testing.T) {
		out, _, err := run(t, func(s *ssh.Session) {
			if err := s.RequestPty("vt100", 37, 101, ssh.TerminalModes{ssh.ECHO: 0}); err != nil {
				t.Fatal(err)
			}
		}, `stty size; echo "$TERM"; test -t 0 && tty`)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, "37 101\r\nvt100\r\n/dev/pts/") {
			t.Errorf("got %q, want size 37 101, TERM vt100 and a /dev/pts tty", out)
		}
	})
	t.Run("stdin EOF", func(t *testing.T) {
		out, _, err := run(t, func(s *ssh.Session) { s.Stdin = strings.NewReader("hello\nworld\n") }, "wc -l")
		if err != nil || strings.TrimSpace(out) != "2" {
			t.Errorf("got %q, %v; want 2", out, err)
		}
	})
}

func TestAuthRefusals(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	strangerSigner, err := ssh.NewSignerFromKey(stranger)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		user   string
		signer ssh.Signer
	}{
		{"unknown key", "tester", strangerSigner},
		{"right key, other user", "root", signer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := dial(t, srv, tt.user, tt.signer); err == nil {
				t.Fatal("login succeeded, want refused")
			}
		})
	}
	if _, err := dial(t, srv, "tester", signer); err != nil {
		t.Errorf("the id_container key was refused: %v", err)
	}
}

func TestShutdownClosesConnections(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client, err := dial(t, srv, "tester", signer)
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 60"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); err == nil {
		t.Error("got a clean shutdown with a session still running, want the deadline error")
	}
	if _, err := net.DialTimeout("tcp", srv.ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepts after Shutdown")
	}
	if err := s.Wait(); err == nil {
		t.Error("session ended cleanly, want it cut at shutdown")
	}
}
