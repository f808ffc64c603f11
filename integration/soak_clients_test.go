package integration

// The soak test's clients: Go's x/crypto/ssh for the many concurrent and sequential
// logins, OpenSSH's sftp and scp for the transfers it kills.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"jobsshd/internal/testwait"
)

// soakStepTimeout bounds one dial-and-login or one command of a soak client; a step
// that takes longer is a failure, not a wait.
const soakStepTimeout = 30 * time.Second

// soakClientConfig logs in as the served account with id_container and accepts only
// the host keys the agent printed (agentKnownHosts).
func soakClientConfig(t *testing.T, a *agent) *ssh.ClientConfig {
	t.Helper()
	signer := loadSigner(t, a.IDFile)
	hostKeys, err := knownhosts.New(agentKnownHosts(t, a))
	if err != nil {
		t.Fatalf("read the agent's known_hosts lines: %v", err)
	}
	return &ssh.ClientConfig{
		User:            a.Account.Name,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys,
		Timeout:         soakStepTimeout,
	}
}

// soakConn is one logged-in x/crypto connection.
type soakConn struct {
	conn   net.Conn
	client *ssh.Client
}

// dialSoak connects and logs in, all within soakStepTimeout.
func dialSoak(port int, cfg *ssh.ClientConfig) (*soakConn, error) {
	addr := hostPort("127.0.0.1", port)
	conn, err := net.DialTimeout("tcp", addr, soakStepTimeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// The deadline bounds the handshake and login; it is lifted once logged in.
	if err := conn.SetDeadline(time.Now().Add(soakStepTimeout)); err != nil {
		conn.Close()
		return nil, err
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("log in at %s: %w", addr, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, err
	}
	return &soakConn{conn: conn, client: ssh.NewClient(c, chans, reqs)}, nil
}

// run runs command in a new session and returns its stdout; a command still running
// after soakStepTimeout closes the connection, which ends it with an error.
func (c *soakConn) run(command string) (string, error) {
	watchdog := time.AfterFunc(soakStepTimeout, func() { c.conn.Close() })
	defer watchdog.Stop()
	s, err := c.client.NewSession()
	if err != nil {
		return "", fmt.Errorf("open a session: %w", err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if err := s.Run(command); err != nil {
		return stdout.String(), fmt.Errorf("run %q: %w (stderr %q)", command, err, stderr.String())
	}
	return stdout.String(), nil
}

func (c *soakConn) Close() error { return c.client.Close() }

// loginOnce is one whole login: connect, log in, run true, disconnect.
func loginOnce(port int, cfg *ssh.ClientConfig) error {
	c, err := dialSoak(port, cfg)
	if err != nil {
		return err
	}
	_, err = c.run("true")
	if cerr := c.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = fmt.Errorf("close: %w", cerr)
	}
	return err
}

// killedTransfer is one OpenSSH transfer the soak kills once data flows.
type killedTransfer struct {
	name  string
	tool  string   // sftp or scp
	flags []string // before the operands
	up    bool     // upload (else download)
}

var killedTransfers = []killedTransfer{
	{name: "sftp get", tool: "sftp"},
	{name: "sftp put", tool: "sftp", up: true},
	{name: "scp download", tool: "scp"},
	{name: "scp upload", tool: "scp", up: true},
	{name: "scp -O download", tool: "scp", flags: []string{"-O"}},
	{name: "scp -O upload", tool: "scp", flags: []string{"-O"}, up: true},
}

// killTransferMidway starts tr between local and remote (a path relative to the home,
// whose absolute form is remoteAbs), rate-limited so that it lasts many seconds, waits
// until at least 256 KiB arrived, then SIGKILLs the client's whole process group (sftp
// or scp and the ssh under it), as an OOM kill or a closed laptop would. It returns how
// many bytes had arrived, which must be fewer than the whole file.
func killTransferMidway(t *testing.T, a *agent, tr killedTransfer, local, remote, remoteAbs string) (int64, error) {
	t.Helper()
	requireTool(t, tr.tool, "openssh-client")
	// -l is in Kbit/s: 40000 is 5 MB/s, so 64 MiB would take 13 s.
	args := append(append(hermeticCopyOptions(a.IDFile, a.Port), "-l", "40000"), tr.flags...)
	from, to, arrived := a.remote(remote), local, local
	if tr.up {
		from, to, arrived = local, a.remote(remote), remoteAbs
	}
	if tr.tool == "sftp" {
		op := "get " + remote + " " + local
		if tr.up {
			op = "put " + local + " " + remote
		}
		args = append(args, "-b", writeTempFile(t, "batch", op+"\n"), a.destination())
	} else {
		args = append(args, from, to)
	}
	cmd := exec.Command(tr.tool, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", tr.name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var size int64
	flowing := testwait.Until(soakStepTimeout, func() bool {
		select {
		case err := <-exited:
			exited <- err
			return true // ended before the kill: reported below
		default:
		}
		if fi, err := os.Stat(arrived); err == nil {
			size = fi.Size()
		}
		return size >= 256<<10
	})
	// Kill the group even when the transfer stalled, so nothing outlives the test.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // ESRCH if it ended by itself
	err := <-exited
	var exitErr *exec.ExitError
	switch {
	case !flowing:
		return size, fmt.Errorf("%s: only %d bytes arrived at %s within %v (%s)", tr.name, size, filepath.Base(arrived), soakStepTimeout, out.String())
	case !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL:
		return size, fmt.Errorf("%s ended before it was killed (%v): %s", tr.name, err, out.String())
	}
	if fi, err := os.Stat(arrived); err == nil {
		size = fi.Size()
	}
	return size, nil
}

// soakEnvDuration reads a Go duration from the environment variable name, or def.
func soakEnvDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive Go duration such as 90s or 3m", name, v)
	}
	return d
}

// soakEnvInt reads a positive integer from the environment variable name, or def.
func soakEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
