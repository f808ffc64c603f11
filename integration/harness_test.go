package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testenv"
)

const (
	statusTimeout   = 10 * time.Second // agent start to status.json
	stopTimeout     = 10 * time.Second // SIGTERM to exit
	clientTimeout   = 60 * time.Second // one client run, start to exit
	defaultTestUser = "jobtest"
)

// binPath is the jobsshd binary TestMain builds.
var binPath string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests builds the binary and runs the tests, only with JOBSSHD_INTEGRATION=1: without
// it they skip, so that `go test ./...` works for a newcomer without root or the clients;
// with it (.ci/run sets it), a missing client or missing root is a failure, so that CI
// cannot pass without testing.
func runTests(m *testing.M) int {
	if !testenv.Integration() {
		// cmd/go shows a passing package's output only with -v; the testing package's own
		// "no tests to run" line makes its summary say "[no tests to run]" either way.
		fmt.Println("integration: skipped: needs root and the clients listed in the README; run .ci/run or set " + testenv.IntegrationEnv + "=1")
		fmt.Println("testing: warning: no tests to run")
		return 0
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration tests must run as root with "+testenv.IntegrationEnv+"=1: they serve test accounts (sudo -E, or unset "+testenv.IntegrationEnv+" to skip them)")
		return 1
	}
	dir, err := os.MkdirTemp("", "jobsshd-integration-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create build dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "find repo root:", err)
		return 1
	}
	// The agent starts this binary again as the served account (`jobsshd sftp-server`,
	// built-in scp), so the account must be able to reach it: MkdirTemp makes 0700.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "make build dir reachable:", err)
		return 1
	}
	binPath = filepath.Join(dir, "jobsshd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", binPath, ".")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build jobsshd in %s: %v\n%s", root, err, out)
		return 1
	}
	return m.Run()
}

// requireTool fails the test when a client it drives is not installed (the integration
// tests run only with JOBSSHD_INTEGRATION=1, under which testenv.RequireTool fails): CI
// installs them all (.ci/run), so a missing one means the test would silently not test.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	return testenv.RequireTool(t, name, debianPackage)
}

// status is status.json as the agent writes it.
type status struct {
	PID       int       `json:"pid"`
	StartTime uint64    `json:"start_time"`
	BootID    string    `json:"boot_id"`
	Port      int       `json:"port"`
	Bind      string    `json:"bind"`
	User      string    `json:"user"`
	HostKeys  []hostKey `json:"host_keys"`
	IDFile    string    `json:"id_file"`
	StartedAt string    `json:"started_at"`
	Version   string    `json:"version"`
}

type hostKey struct {
	Type        string `json:"type"`
	Fingerprint string `json:"fingerprint"`
}

func (s status) fingerprint(t *testing.T, keyType string) string {
	t.Helper()
	for _, k := range s.HostKeys {
		if k.Type == keyType {
			return k.Fingerprint
		}
	}
	t.Fatalf("status.json host_keys has no %s key: %+v", keyType, s.HostKeys)
	return ""
}

// lockedBuffer collects a child's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// agentOptions says how to start an agent. The zero value serves jobtest on a random
// loopback port with a fresh state dir and id_container.
type agentOptions struct {
	User     string   // served account; "" means jobtest
	Port     int      // --port; 0 means random
	Args     []string // extra flags, after the defaults
	Env      []string // extra environment for the agent, over the test's own
	StateDir string   // "" means a fresh temp dir
	IDFile   string   // "" means id_container in a fresh temp dir
	// NoFlags passes only Args, for tests that configure the agent through JOBSSHD_*
	// variables; StateDir must then name the state dir those variables choose.
	NoFlags bool
	// Wrapper, when set, is a command that starts the agent: the binary's path and its
	// arguments are appended to it. It must exec the binary (unshare, sh -c '... exec
	// "$0" "$@"'), so that the agent keeps the pid the test started.
	Wrapper []string
}

// agent is a running jobsshd.
type agent struct {
	t        *testing.T
	opts     agentOptions
	Account  account
	StateDir string
	IDFile   string
	Port     int
	Status   status

	stdout, stderr *lockedBuffer
	cmd            *exec.Cmd
	exited         chan struct{} // closed once cmd.Wait returned
	waitErr        error
}

// startAgent starts jobsshd and waits for its status.json. Cleanup stops it with SIGTERM,
// fails the test unless it exits 0, and prints its logs when the test failed.
func startAgent(t *testing.T, opts agentOptions) *agent {
	t.Helper()
	if opts.User == "" {
		opts.User = defaultTestUser
	}
	a := &agent{t: t, opts: opts, StateDir: opts.StateDir, IDFile: opts.IDFile,
		stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	a.Account = testAccount(t, opts.User)
	if a.StateDir == "" {
		a.StateDir = filepath.Join(t.TempDir(), "state")
	}
	if a.IDFile == "" {
		a.IDFile = filepath.Join(accountTempDir(t, a.Account), "id_container")
	}
	t.Cleanup(func() {
		if a.running() {
			a.Stop()
		}
		if t.Failed() {
			t.Logf("agent stdout:\n%s", a.stdout.String())
			t.Logf("agent stderr (logs):\n%s", a.stderr.String())
		}
	})
	a.start()
	return a
}

func (a *agent) args() []string {
	if a.opts.NoFlags {
		return a.opts.Args
	}
	args := []string{
		"--user", a.opts.User,
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(a.opts.Port),
		"--state-dir", a.StateDir,
		"--id-file", a.IDFile,
	}
	return append(args, a.opts.Args...)
}

func (a *agent) start() {
	t := a.t
	t.Helper()
	if w := a.opts.Wrapper; len(w) > 0 {
		a.cmd = exec.Command(w[0], append(append(w[1:len(w):len(w)], binPath), a.args()...)...)
	} else {
		a.cmd = exec.Command(binPath, a.args()...)
	}
	a.cmd.Env = agentEnv(a.opts.Env)
	a.cmd.Stdout = a.stdout
	a.cmd.Stderr = a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start jobsshd: %v", err)
	}
	a.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		a.waitErr = cmd.Wait()
		close(exited)
	}(a.cmd, a.exited)
	a.Status = a.waitForStatus()
	a.Port = a.Status.Port
}

// agentEnv is the test's environment without JOBSSHD_* (a developer's settings must not
// leak into the agent under test), plus extra.
func agentEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JOBSSHD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// waitForStatus waits for a status.json written by this process (an earlier run of the
// agent may have left one behind).
func (a *agent) waitForStatus() status {
	t := a.t
	t.Helper()
	path := filepath.Join(a.StateDir, "status.json")
	deadline := time.Now().Add(statusTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			t.Fatalf("jobsshd %s exited before writing %s: %v\nstderr:\n%s",
				strings.Join(a.args(), " "), path, a.waitErr, a.stderr.String())
		default:
		}
		b, err := os.ReadFile(path)
		if err == nil {
			var s status
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("%s is not valid JSON (it must be written atomically): %v\n%s", path, err, b)
			}
			// A new state directory's RSA host key is created once the agent listens
			// (agent/host_keys_later.go), and status.json is rewritten with it: the
			// tests start from the agent with both keys, as a platform reading the
			// file's host keys waits for them.
			if s.PID == a.cmd.Process.Pid && len(s.HostKeys) == 2 {
				if s.Port <= 0 || s.Port > 65535 {
					t.Fatalf("status.json port = %d, want a listening port\n%s", s.Port, b)
				}
				return s
			}
			last = string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no status.json with pid %d in %s after %v (last seen: %q)", a.cmd.Process.Pid, path, statusTimeout, last)
	return status{}
}

func (a *agent) running() bool {
	if a.cmd == nil {
		return false
	}
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// Stop sends sig (SIGTERM if none) and fails the test unless the agent exits 0 in time.
func (a *agent) Stop(sig ...os.Signal) {
	t := a.t
	t.Helper()
	s := os.Signal(syscall.SIGTERM)
	if len(sig) > 0 {
		s = sig[0]
	}
	if err := a.cmd.Process.Signal(s); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signal jobsshd: %v", err)
	}
	select {
	case <-a.exited:
	case <-time.After(stopTimeout):
		_ = a.cmd.Process.Kill() // it ignored the signal; the test fails below
		<-a.exited
		t.Errorf("jobsshd did not exit within %v of %v; killed it", stopTimeout, s)
		return
	}
	if a.waitErr != nil {
		t.Errorf("jobsshd exit after %v: %v, want exit status 0", s, a.waitErr)
	}
}

// Restart stops the agent and starts it again with the same flags, state dir and id file.
func (a *agent) Restart() {
	a.t.Helper()
	a.Stop()
	fmt.Fprintf(a.stderr, "----- restart -----\n")
	a.start()
}

// Logs is what the agent wrote to stderr so far: its logs and the "how to connect"
// text.
func (a *agent) Logs() string { return a.stderr.String() }

// Stdout is what the agent wrote to stdout so far: nothing, since under entrypoint.sh
// its stdout is the job's.
func (a *agent) Stdout() string { return a.stdout.String() }

// runBinary runs jobsshd with args and env (over the test's own, JOBSSHD_* removed) and
// expects it to exit by itself; it fails the test if it is still running after
// statusTimeout.
func runBinary(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = agentEnv(env)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("jobsshd %s: still running after %v, want it to exit\nstderr:\n%s", strings.Join(args, " "), statusTimeout, errOut.String())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("run jobsshd: %v", err)
	}
	return out.String(), errOut.String(), code
}

// processAlive reports whether pid is a live (not zombie) process whose command name is
// comm; a pid reused by another program counts as gone.
func processAlive(pid int, comm string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// /proc/PID/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
	s := string(b)
	lp, rp := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if lp < 0 || rp < lp || rp+2 >= len(s) {
		return false
	}
	return s[lp+1:rp] == comm && s[rp+2] != 'Z' && s[rp+2] != 'X'
}
