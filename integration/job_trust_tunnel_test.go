package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// jobTunnelTestUser is served only by TestJobKeyThroughTunnel, which uses the job key
// the agent writes into its ~/.ssh.
const jobTunnelTestUser = "jtjobtunnel"

// TestJobKeyThroughTunnel pins issue 10, item 18. The job's one host is 127.0.0.1, the
// address the agent's own connections to its port leave from. A client outside the
// job (bound to 127.0.0.3) that holds the
// job key is refused directly; it must stay refused when it goes through a tunnel
// opened by a "tunnel only" key (a forced command, forwarding allowed), while a key
// without a forced command (id_container) may still hop on, as ProxyJump does, and a
// tunnel-only key still reaches other ports.
func TestJobKeyThroughTunnel(t *testing.T) {
	t.Parallel()
	f := startJobTunnelAgent(t)
	a, jobKey, tunnelKey, listedKey, echo, port, user := f.a, f.jobKey, f.tunnelKey, f.listedKey, f.echo, f.port, f.a.Account.Name
	outside, proxy := f.outside, f.proxy

	t.Run("job key from outside the job, directly", func(t *testing.T) {
		if res := outside(t, jobKey); res.ExitCode == 0 {
			t.Fatalf("got %s, want the job key refused from 127.0.0.3", res)
		}
	})
	t.Run("job key through a tunnel-only key's tunnel", func(t *testing.T) {
		res := outside(t, jobKey, "-o", proxy(tunnelKey, "127.0.0.1:"+port))
		if res.ExitCode == 0 || strings.Contains(res.Stdout, "JOB-IN") {
			t.Errorf("got %s, want the tunnel refused and no job login\nagent log:\n%s", res, a.Logs())
		}
		if !testwait.Until(5*time.Second, func() bool {
			return strings.Contains(a.Logs(), "may tunnel only to the targets its permitopen= option names")
		}) {
			t.Errorf("the refusal is not logged:\n%s", a.Logs())
		}
	})
	t.Run("job key through a listed tunnel to the job port", func(t *testing.T) {
		res := outside(t, jobKey, "-o", proxy(listedKey, "127.0.0.1:"+port))
		if res.ExitCode == 0 || strings.Contains(res.Stdout, "JOB-IN") {
			t.Errorf("got %s, want the tunnel refused and no job login\nagent log:\n%s", res, a.Logs())
		}
		if !testwait.Until(5*time.Second, func() bool { return strings.Contains(a.Logs(), "may not tunnel to a job host's SSH server") }) {
			t.Errorf("the refusal is not logged:\n%s", a.Logs())
		}
	})
	t.Run("job key through a tunnel-only key's tunnel to localhost", func(t *testing.T) {
		res := outside(t, jobKey, "-o", proxy(tunnelKey, "localhost:"+port))
		if res.ExitCode == 0 || strings.Contains(res.Stdout, "JOB-IN") {
			t.Errorf("got %s, want the tunnel refused and no job login", res)
		}
	})
	t.Run("tunnel-only key without permitopen to another port", func(t *testing.T) {
		res := runSSH(t, append(hermeticSSHOptions(tunnelKey, a.Port), "-o", "BindAddress=127.0.0.3", "-W", fmt.Sprintf("127.0.0.1:%d", echo), user+"@127.0.0.1")...)
		if res.ExitCode == 0 {
			t.Errorf("got %s, want no tunnel for a forced-command key without permitopen= under job trust", res)
		}
	})
	t.Run("tunnel-only key to a listed port", func(t *testing.T) {
		res := runSSH(t, append(hermeticSSHOptions(listedKey, a.Port), "-o", "BindAddress=127.0.0.3", "-W", fmt.Sprintf("127.0.0.1:%d", echo), user+"@127.0.0.1")...)
		if res.ExitCode != 0 {
			t.Errorf("got %s, want the tunnel to the echo server, which its permitopen= names, to work\nagent log:\n%s", res, a.Logs())
		}
	})
	t.Run("a job login hopping on", func(t *testing.T) {
		// From the job host (127.0.0.1) the job key logs in without a forced command,
		// and its tunnel to a job host's SSH port still works.
		hop := strings.Replace(proxy(jobKey, "127.0.0.1:"+port), "BindAddress=127.0.0.3", "BindAddress=127.0.0.1", 1)
		res := runSSH(t, append(hermeticSSHOptions(jobKey, a.Port), "-o", "BindAddress=127.0.0.1", "-o", hop, user+"@127.0.0.1", "echo JOB-IN")...)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "JOB-IN") {
			t.Errorf("got %s, want the job login's hop to work\nagent log:\n%s", res, a.Logs())
		}
	})
	t.Run("job key hopping through id_container's tunnel", func(t *testing.T) {
		res := outside(t, jobKey, "-o", proxy(a.IDFile, "127.0.0.1:"+port))
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "JOB-IN") {
			t.Errorf("got %s, want the hop of a key without a forced command to work\nagent log:\n%s", res, a.Logs())
		}
	})
}

// jobTunnel is TestJobKeyThroughTunnel's agent, whose one job host is 127.0.0.1, and
// the keys and targets its cases use.
type jobTunnel struct {
	a *agent
	// jobKey is the job key the agent wrote, readable by ssh; tunnelKey a "tunnel only"
	// key (forced command, forwarding allowed); listedKey one whose permitopen= names
	// the echo server and the job's SSH port.
	jobKey, tunnelKey, listedKey string
	echo                         int    // an echo server's port
	port                         string // the agent's port
}

// startJobTunnelAgent starts the agent under job trust and writes the keys.
func startJobTunnelAgent(t *testing.T) *jobTunnel {
	t.Helper()
	acct := testAccount(t, jobTunnelTestUser)
	jobKeyFile := filepath.Join(acct.Home, ".ssh", "id_jobsshd_job")
	_ = os.Remove(jobKeyFile) // from an earlier run: wait for this agent's
	tunnelKey := newClientKey(t, "tunnel-only")
	keysFile := platformKeysFile(t, `restrict,port-forwarding,command="echo tunnel-only" `+pub(t, tunnelKey))
	a := startAgent(t, agentOptions{User: acct.Name, Env: []string{"JOBSSHD_JOB_SECRET=tunnel-test-job-secret-0123456789"},
		Args: []string{"--job-hosts", "127.0.0.1", "--authorized-keys", keysFile}})
	if !testwait.Until(5*time.Second, func() bool { _, err := os.Stat(jobKeyFile); return err == nil }) {
		t.Fatalf("the agent wrote no %s:\n%s", jobKeyFile, a.Logs())
	}
	// The test reads the job key as root; ssh wants a key file only its user can read.
	jobKey := filepath.Join(t.TempDir(), "job_key")
	b, err := os.ReadFile(jobKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jobKey, b, 0o600); err != nil {
		t.Fatal(err)
	}
	echo := startEchoServer(t)
	port := strconv.Itoa(a.Port)
	// A tunnel key whose line names its targets, the echo server and (on purpose) the
	// job's SSH port; written now that the port is known (the file is re-read at login).
	listedKey := newClientKey(t, "tunnel-listed")
	listedLine := fmt.Sprintf(`restrict,port-forwarding,permitopen="127.0.0.1:%d",permitopen="127.0.0.1:%s",command="echo tunnel-only" %s`, echo, port, pub(t, listedKey))
	f, err := os.OpenFile(keysFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(listedLine + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return &jobTunnel{a: a, jobKey: jobKey, tunnelKey: tunnelKey, listedKey: listedKey, echo: echo, port: port}
}

// outside runs ssh with key as a client outside the job: bound to 127.0.0.3.
func (j *jobTunnel) outside(t *testing.T, key string, extra ...string) sshResult {
	t.Helper()
	args := append(hermeticSSHOptions(key, j.a.Port), "-o", "BindAddress=127.0.0.3")
	args = append(append(args, extra...), j.a.Account.Name+"@127.0.0.1")
	return runSSH(t, append(args, "echo JOB-IN")...)
}

// proxy is the ssh option that reaches target through a tunnel opened with key from
// outside the job.
func (j *jobTunnel) proxy(key, target string) string {
	return "ProxyCommand=ssh " + strings.Join(hermeticSSHOptions(key, j.a.Port), " ") + " -o BindAddress=127.0.0.3 -W " + target + " " + j.a.Account.Name + "@127.0.0.1"
}

// runSSH runs OpenSSH's ssh with args, bounded by clientTimeout.
func runSSH(t *testing.T, args ...string) sshResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := sshResult{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("ssh %s: no exit within %v (%s)", strings.Join(args, " "), clientTimeout, res)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ssh: %v", err)
	}
	return res
}
