package integration

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// startSSHAgent runs a real ssh-agent holding one new key, with the comment
// "forwarded-key", and returns its socket; cleanup stops it.
func startSSHAgent(t *testing.T) string {
	t.Helper()
	requireTool(t, "ssh-agent", "openssh-client")
	requireTool(t, "ssh-add", "openssh-client")
	sock := filepath.Join(shortTempDir(t), "agent.sock")
	bg := startBackground(t, nil, "ssh-agent", "-D", "-a", sock)
	bg.waitListening(sock)
	key := newClientKey(t, "forwarded-key")
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	add := exec.CommandContext(ctx, "ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add %s: %v\n%s", key, err, out)
	}
	return sock
}

// sshWithAgent runs command with ssh -A forwarding the ssh-agent at agentSock, and fails
// the test unless ssh exits 0. With IdentityAgent=none (hermetic) ssh forwards no agent,
// whatever ForwardAgent says; IdentityAgent=SOCK with IdentitiesOnly still logs in with
// id_container alone.
func (a *agent) sshWithAgent(t *testing.T, agentSock, command string) sshResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	args := append(a.sshOptions(map[string]string{"IdentityAgent": agentSock}), "-A", a.Account.Name+"@127.0.0.1", command)
	cmd := exec.CommandContext(ctx, "ssh", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := sshResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		t.Fatalf("ssh -A %q: %v (%s)", command, err, res)
	}
	return res
}

// TestForwardAgent: ssh -A with a real ssh-agent; inside the session ssh-add lists the
// client's key through a socket in a fresh 0700 directory of the account's, which is
// gone once the client leaves.
func TestForwardAgent(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	agentSock := startSSHAgent(t)
	res := a.sshWithAgent(t, agentSock, `echo "$SSH_AUTH_SOCK"; stat -c '%U %a' "$(dirname "$SSH_AUTH_SOCK")" "$SSH_AUTH_SOCK"; ssh-add -l`)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("ssh -A: got %q, want the socket, two stat lines and one key", res.Stdout)
	}
	sock := lines[0]
	if want := a.Account.Name + " 700"; lines[1] != want {
		t.Errorf("socket directory: got %q, want %q", lines[1], want)
	}
	if want := a.Account.Name + " 600"; lines[2] != want {
		t.Errorf("socket: got %q, want %q", lines[2], want)
	}
	if !strings.Contains(lines[3], "forwarded-key") {
		t.Errorf("ssh-add -l in the session: got %q, want the client's forwarded-key", lines[3])
	}
	if !testwait.Until(10*time.Second, func() bool { _, err := os.Lstat(filepath.Dir(sock)); return errors.Is(err, fs.ErrNotExist) }) {
		t.Errorf("%s still exists after the client left", filepath.Dir(sock))
	}
}
