package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sshCall is one run of the OpenSSH client against an agent.
type sshCall struct {
	Key     string    // -i; "" means the agent's id_container
	User    string    // "" means the served account
	Opts    []string  // extra ssh options, before the destination
	Command string    // remote command; "" means none (a shell)
	Stdin   io.Reader // nil means empty
	Env     []string  // extra client environment
}

type sshResult struct {
	Stdout, Stderr string
	ExitCode       int
}

func (r sshResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
}

// hermeticSSHOptions keep the test machine's ssh config, known_hosts and agent out.
func hermeticSSHOptions(key string, port int) []string {
	return []string{
		"-F", "/dev/null",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10",
		"-i", key,
		"-p", strconv.Itoa(port),
	}
}

func (a *agent) sshArgs(c sshCall) []string {
	key, user := c.Key, c.User
	if key == "" {
		key = a.IDFile
	}
	if user == "" {
		user = a.Account.Name
	}
	args := append(hermeticSSHOptions(key, a.Port), c.Opts...)
	args = append(args, user+"@127.0.0.1")
	if c.Command != "" {
		args = append(args, c.Command)
	}
	return args
}

// SSH runs ssh to completion (bounded by clientTimeout); it fails the test if ssh cannot
// run or does not exit in time.
func (a *agent) SSH(t *testing.T, c sshCall) sshResult {
	t.Helper()
	requireTool(t, "ssh", "openssh-client")
	res, err := a.trySSH(c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// trySSH is SSH for goroutines other than the test's: it reports instead of failing.
func (a *agent) trySSH(c sshCall) (sshResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", a.sshArgs(c)...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := sshResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		return res, fmt.Errorf("ssh %s: no exit within %v (%s)", strings.Join(cmd.Args[1:], " "), clientTimeout, res)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("run ssh: %w", err)
	}
	return res, nil
}

// concurrentSSH runs n sessions at once, each made by call(i), and returns their results.
// Every session waits (bounded) in a barrier until all n are running, so they truly
// overlap whatever go test's -parallel is.
func (a *agent) concurrentSSH(t *testing.T, n int, call func(i int, barrier string) sshCall) []sshResult {
	t.Helper()
	requireTool(t, "ssh", "openssh-client")
	dir := accountTempDir(t, a.Account)
	barrier := fmt.Sprintf(`touch %s/$$ && n=0 && while [ "$(ls %s | wc -l)" -lt %d ]; do `+
		`n=$((n+1)); [ $n -gt 400 ] && echo "barrier: not all %d sessions started within 20s" >&2 && exit 99; sleep 0.05; done`,
		dir, dir, n, n)
	results := make([]sshResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = a.trySSH(call(i, barrier))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("session %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return results
}

// Run runs command over ssh with the agent's id_container and fails the test unless it
// exits 0; it returns stdout.
func (a *agent) Run(t *testing.T, command string) string {
	t.Helper()
	res := a.SSH(t, sshCall{Command: command})
	if res.ExitCode != 0 {
		t.Fatalf("ssh %q: %s, want exit 0", command, res)
	}
	return res.Stdout
}

// newClientKey makes a fresh ed25519 key pair with ssh-keygen and returns the private
// key's path (the public key is path+".pub").
func newClientKey(t *testing.T, name string) string {
	t.Helper()
	requireTool(t, "ssh-keygen", "openssh-client")
	path := filepath.Join(t.TempDir(), name)
	runOrFatal(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path)
	return path
}

// readPublicKey returns "type base64" of an OpenSSH public key file, without comment.
func readPublicKey(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return keyTypeAndBlob(t, string(b))
}

func keyTypeAndBlob(t *testing.T, line string) string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("not an OpenSSH public key line: %q", line)
	}
	return f[0] + " " + f[1]
}
