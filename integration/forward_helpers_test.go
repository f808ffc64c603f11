package integration

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// tunnelTimeout bounds how long a client takes to set up its forwards.
const tunnelTimeout = 15 * time.Second

// background is a client process that runs until Stop: a tunnel holding forwards open
// (ssh -N, plink -N), or an ssh-agent.
type background struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	err    error
}

// startBackground starts name with args (env over the test's own); cleanup stops it.
func startBackground(t *testing.T, env []string, name string, args ...string) *background {
	t.Helper()
	bg := &background{t: t, name: name, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	bg.cmd = exec.Command(name, args...)
	bg.cmd.Env = append(os.Environ(), env...)
	bg.cmd.Stdout = bg.stderr
	bg.cmd.Stderr = bg.stderr
	if err := bg.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		bg.err = bg.cmd.Wait()
		close(bg.exited)
	}()
	t.Cleanup(func() {
		bg.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, bg.stderr.String())
		}
	})
	return bg
}

// Stop ends the client as a user would (SIGTERM) and waits for it. The signal is
// repeated: OpenSSH 9.2's client checks for it before poll(2), not atomically with it
// (9.5 moved to ppoll), so a SIGTERM that lands between the two waits for the next
// event, which a quiet tunnel never has.
func (bg *background) Stop() {
	deadline := time.After(stopTimeout)
	for {
		_ = bg.cmd.Process.Signal(syscall.SIGTERM) // it may have exited just now
		select {
		case <-bg.exited:
			return
		case <-deadline:
			_ = bg.cmd.Process.Kill()
			<-bg.exited
			bg.t.Errorf("%s ignored SIGTERM for %v; killed it", bg.name, stopTimeout)
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Wait waits for the client to exit by itself and returns its exit code.
func (bg *background) Wait(timeout time.Duration) (int, error) {
	select {
	case <-bg.exited:
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running after %v", bg.name, timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(bg.err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	return 0, bg.err
}

func (bg *background) Output() string { return bg.stderr.String() }

// waitListening waits until addr accepts connections, failing the test if the client
// exits or the forward does not come up in time.
func (bg *background) waitListening(addr string) {
	bg.t.Helper()
	deadline := time.Now().Add(tunnelTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-bg.exited:
			bg.t.Fatalf("%s exited (%v) before %s listened:\n%s", bg.name, bg.err, addr, bg.Output())
		default:
		}
		network := "tcp"
		if filepath.IsAbs(addr) {
			network = "unix"
		}
		if c, err := net.DialTimeout(network, addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	bg.t.Fatalf("%s: nothing listens on %s after %v:\n%s", bg.name, addr, tunnelTimeout, bg.Output())
}

var allocatedPortLine = regexp.MustCompile(`Allocated port (\d+) for remote forward`)

// allocatedPort waits for ssh -R 0:... to report the port the server chose (on stderr,
// at LogLevel INFO).
func (bg *background) allocatedPort() int {
	bg.t.Helper()
	var port int
	if !testwait.Until(tunnelTimeout, func() bool {
		if m := allocatedPortLine.FindStringSubmatch(bg.Output()); m != nil {
			port, _ = strconv.Atoi(m[1])
			return true
		}
		return false
	}) {
		bg.t.Fatalf("%s reported no \"Allocated port N\" within %v:\n%s", bg.name, tunnelTimeout, bg.Output())
	}
	return port
}

// sshOptions are the hermetic ssh options with some values replaced: ssh takes the
// first value given for an option, so appending another would not do.
func (a *agent) sshOptions(overrides map[string]string) []string {
	args := hermeticSSHOptions(a.IDFile, a.Port)
	for i, arg := range args {
		name, _, _ := strings.Cut(arg, "=")
		if v, ok := overrides[name]; ok && i > 0 && args[i-1] == "-o" {
			args[i] = name + "=" + v
		}
	}
	return args
}

// sshTunnel starts `ssh -N` with the agent's id_container, the hermetic options at log
// level logLevel (INFO shows "Allocated port" and channel open failures),
// ExitOnForwardFailure, and opts.
func (a *agent) sshTunnel(t *testing.T, logLevel string, opts ...string) *background {
	t.Helper()
	requireTool(t, "ssh", "openssh-client")
	args := append(a.sshOptions(map[string]string{"LogLevel": logLevel}), "-N", "-o", "ExitOnForwardFailure=yes")
	args = append(args, opts...)
	args = append(args, a.Account.Name+"@127.0.0.1")
	return startBackground(t, nil, "ssh", args...)
}

// freePort is a TCP port on loopback for a listener the test cannot open itself and
// hand over: a client's -L or -D listener, a fixed -R port the agent opens, a --port for
// doctor. It cannot collide with another listener of the tests:
//   - it lies below the kernel's ephemeral range (ip_local_port_range), so no bind to
//     port 0 and no outgoing connection is ever given it, however long the test waits;
//   - a lock file held until the test's cleanup reserves it against every other test,
//     in this process and in any other run of these tests on the machine;
//   - a bind to it on every address succeeded just now, so nothing else holds it.
func freePort(t *testing.T) int {
	t.Helper()
	low, high := reservablePorts(t)
	dir := filepath.Join(os.TempDir(), "jobsshd-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create the port lock dir: %v", err)
	}
	start := low + int(portCursor.Add(1)*7919+int64(os.Getpid()))%(high-low)
	for i := range high - low {
		port := low + (start-low+i)%(high-low)
		lock, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatalf("open the lock of port %d: %v", port, err)
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			lock.Close() // another test holds it
			continue
		}
		if ln, err := net.Listen("tcp", hostPort("", port)); err == nil {
			ln.Close()
			t.Cleanup(func() { lock.Close() }) // closing the file releases the lock
			return port
		}
		lock.Close() // something outside the tests listens there
	}
	t.Fatalf("no free port in %d-%d", low, high-1)
	return 0
}

// portCursor spreads the ports one process's tests try first.
var portCursor atomic.Int64

// reservablePorts is the range freePort picks from: the 8192 ports below the kernel's
// ephemeral range, and above the privileged ones.
func reservablePorts(t *testing.T) (low, high int) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatalf("read the ephemeral port range: %v", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		t.Fatalf("ip_local_port_range is %q, want two ports", b)
	}
	first, err := strconv.Atoi(fields[0])
	if err != nil || first <= 2048 {
		t.Fatalf("ip_local_port_range starts at %q: want a start above 2048 to reserve ports below it", fields[0])
	}
	return max(1024, first-8192), first
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// serveEcho echoes every connection ln accepts back to it until its EOF; it stops, and
// the test waits for it, at cleanup.
func serveEcho(t *testing.T, ln net.Listener) {
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

// startEchoServer runs a TCP echo server on 127.0.0.1 and returns its port.
func startEchoServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, ln)
	return ln.Addr().(*net.TCPAddr).Port
}

// echoThrough sends size random bytes to the echo server behind addr and checks that
// the same bytes come back. With halfClose it then sends EOF and expects EOF back,
// which needs EOF to cross the tunnel both ways; without, it reads exactly size bytes.
func echoThrough(network, addr string, size int, halfClose bool) error {
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(clientTimeout))
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil && halfClose {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		werr <- err
	}()
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("read the echo of %d bytes through %s: %w", size, addr, err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("write %d bytes through %s: %w", size, addr, err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echo through %s differs from the %d bytes sent", addr, size)
	}
	if halfClose {
		if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			return fmt.Errorf("after EOF through %s: got %d more bytes, %v; want EOF back", addr, n, err)
		}
	}
	return nil
}

// closedAt reports whether connecting to addr fails or the connection ends at once
// without data: what a refused forward looks like from the client's local side.
func closedAt(network, addr string) bool {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return true
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = c.Write([]byte("x")) // the tunnel may already have closed it
	n, err := c.Read(make([]byte, 1))
	return n == 0 && err != nil
}

// refusedTCP reports whether nothing listens on addr any more.
func refusedTCP(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

// shortTempDir is a temp dir with a short path (a unix socket path must stay under 108
// bytes), traversable by every account, removed at cleanup.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jfw-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
