package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// jobNet is a set of network namespaces, each with one address on a bridge in a hub
// namespace: the "pods" of a distributed job, plus any outsiders.
type jobNet struct {
	names []string // namespace of each member
	addrs []string // its address
}

// jobSubnet is the members' subnet; it exists only inside the test's namespaces.
const jobSubnet = "10.231.77."

// newJobNet creates the hub and one namespace per entry of hostnames, each holding
// /etc/netns/<ns>/hosts (which `ip netns exec` mounts over /etc/hosts) that names every
// member. Everything is removed in t.Cleanup, also after a failure part way.
func newJobNet(t *testing.T, hostnames []string) *jobNet {
	t.Helper()
	prefix := fmt.Sprintf("jsdjt%d", os.Getpid()%100000)
	hub := prefix + "-hub"
	n := &jobNet{}
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n")
	for i, h := range hostnames {
		n.names = append(n.names, fmt.Sprintf("%s-%d", prefix, i))
		n.addrs = append(n.addrs, fmt.Sprintf("%s%d", jobSubnet, i+1))
		fmt.Fprintf(&hosts, "%s %s\n", n.addrs[i], h)
	}
	t.Cleanup(func() {
		for _, ns := range append([]string{hub}, n.names...) {
			_ = exec.Command("ip", "netns", "del", ns).Run() // may not exist after a failure part way
			if err := os.RemoveAll(filepath.Join("/etc/netns", ns)); err != nil {
				t.Errorf("remove /etc/netns/%s: %v", ns, err)
			}
		}
	})
	runOrFatal(t, "ip", "netns", "add", hub)
	runOrFatal(t, "ip", "-n", hub, "link", "add", "br0", "type", "bridge")
	runOrFatal(t, "ip", "-n", hub, "link", "set", "br0", "up")
	for i, ns := range n.names {
		runOrFatal(t, "ip", "netns", "add", ns)
		port := fmt.Sprintf("p%d", i)
		runOrFatal(t, "ip", "-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		runOrFatal(t, "ip", "-n", hub, "link", "set", port, "master", "br0", "up")
		runOrFatal(t, "ip", "-n", ns, "addr", "add", n.addrs[i]+"/24", "dev", "eth0")
		runOrFatal(t, "ip", "-n", ns, "link", "set", "eth0", "up")
		runOrFatal(t, "ip", "-n", ns, "link", "set", "lo", "up")
		dir := filepath.Join("/etc/netns", ns)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// run runs argv inside member i's namespace, with HOME set to home, and returns its
// combined output and exit error.
func (n *jobNet) run(t *testing.T, i int, home string, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.names[i]}, argv...)...)
	cmd.Env = append(agentEnv(nil), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %v", strings.Join(argv, " "), clientTimeout)
	}
	return string(out), err
}

// ssh runs the account's own OpenSSH client, with its own ~/.ssh files, in member i's
// namespace; BatchMode makes any prompt (password, host key) a failure.
func (n *jobNet) ssh(t *testing.T, i int, acct account, args ...string) (string, error) {
	t.Helper()
	return n.run(t, i, acct.Home, append([]string{"runuser", "-u", acct.Name, "--", "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}, args...)...)
}

// TestJobTrustBetweenWorkers runs three workers of a job, each a jobsshd in its own
// network namespace sharing the job secret and one account (like a shared home), and
// drives the account's own OpenSSH client with its own ~/.ssh files: `ssh worker-1`
// works from worker-0 with no key, port or host-key option and no prompt (BatchMode),
// and back; the job key from a namespace outside the job and a stranger's key are
// refused, while id_container still works from outside.
func TestJobTrustBetweenWorkers(t *testing.T) {
	requireTool(t, "ip", "iproute2")
	requireTool(t, "runuser", "util-linux")
	requireTool(t, "ssh", "openssh-client")
	requireTool(t, "ssh-keygen", "openssh-client")
	workers := []string{"worker-0", "worker-1", "worker-2"}
	job := newJobNet(t, append(workers, "outsider"))
	const outsider = 3

	acct := testAccount(t, "jobtrust")
	sshDir := filepath.Join(acct.Home, ".ssh")
	if err := os.RemoveAll(sshDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sshDir) })
	writeUserSSHFiles(t, acct, sshDir)

	const secret = "integration-job-secret-0123456789"
	agents := startJobAgents(t, job, acct, len(workers), []string{"JOBSSHD_JOB_SECRET=" + secret},
		"--job-hosts", strings.Join(workers, ","))
	checkJobLogins(t, job, acct, agents, workers, secret)

	// The job key, with the account's own config, from outside the job.
	out, err := job.ssh(t, outsider, acct, "worker-1", "true")
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("job key from outside the job: got %v, want Permission denied\n%s", err, out)
	}
	if logs := agents[1].Logs(); !strings.Contains(logs, "not an address of this job's hosts") {
		t.Errorf("worker-1 did not log why it refused the job key from outside:\n%s", logs)
	}
	checkStrangerAndIDContainer(t, job, acct, agents[1], outsider)
	checkJobClientFiles(t, acct, sshDir, agents[0])
	if out, err := job.ssh(t, 2, acct, "worker-0", `echo $SSH_CONNECTION`); err != nil {
		t.Errorf("ssh worker-0 from worker-2 after worker-0 restarted: %v\n%s", err, out)
	}
}

// jobSSHPort is the port every worker's agent listens on, as in a real job.
const jobSSHPort = "2222"

// The account's own lines in ~/.ssh/config and known_hosts, which job trust must keep.
const (
	userConfig     = "Host user-own-host\n    Port 2200\n"
	userKnownHosts = "user-own-host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuKnr5GjoTaTnp6sL1qDGeF5MJbqz7yHEWOmSPWv+Bg\n"
)

// writeUserSSHFiles creates sshDir with the account's own config and known_hosts.
func writeUserSSHFiles(t *testing.T, acct account, sshDir string) {
	t.Helper()
	for _, f := range []struct {
		path    string
		content string
		mode    os.FileMode
	}{{sshDir, "", 0o700}, {filepath.Join(sshDir, "config"), userConfig, 0o644}, {filepath.Join(sshDir, "known_hosts"), userKnownHosts, 0o644}} {
		var err error
		if f.content == "" {
			err = os.Mkdir(f.path, f.mode)
		} else {
			err = os.WriteFile(f.path, []byte(f.content), f.mode)
		}
		if err == nil {
			err = os.Chown(f.path, acct.UID, acct.GID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// startJobAgents starts an agent for acct in each of the first n namespaces of job, on
// jobSSHPort on every address, with env and args.
func startJobAgents(t *testing.T, job *jobNet, acct account, n int, env []string, args ...string) []*agent {
	t.Helper()
	agents := make([]*agent, n)
	for i := range n {
		agents[i] = startAgent(t, agentOptions{
			User:    acct.Name,
			Wrapper: []string{"ip", "netns", "exec", job.names[i]},
			Env:     env,
			Args:    append([]string{"--bind", "0.0.0.0", "--port", jobSSHPort, "--strict-port"}, args...),
		})
	}
	return agents
}

// checkJobLogins: `ssh worker-N` from worker-0 reaches worker-N (SSH_CONNECTION names
// client and server address: proof of who talked to whom), and back from worker-1;
// nothing shows the job secret.
func checkJobLogins(t *testing.T, job *jobNet, acct account, agents []*agent, workers []string, secret string) {
	t.Helper()
	ssh := func(from int, args ...string) (string, error) { return job.ssh(t, from, acct, args...) }
	checkConnection := func(what, out string, from, to int) {
		t.Helper()
		f := strings.Fields(lastLine(out))
		if len(f) != 4 || f[0] != job.addrs[from] || f[2] != job.addrs[to] || f[3] != jobSSHPort {
			t.Errorf("%s: got SSH_CONNECTION %q, want %q", what, strings.TrimSpace(out),
				fmt.Sprintf("%s %s %s", job.addrs[from], "*", job.addrs[to]+" "+jobSSHPort))
		}
	}
	for _, to := range []int{1, 2} {
		out, err := ssh(0, workers[to], `echo $SSH_CONNECTION`)
		if err != nil {
			t.Fatalf("ssh %s from worker-0: %v\n%s", workers[to], err, out)
		}
		checkConnection("worker-0 → "+workers[to], out, 0, to)
	}
	out, err := ssh(0, "worker-1", "env")
	if err != nil || strings.Contains(out, "JOBSSHD_") || strings.Contains(out, secret) {
		t.Errorf("a session's environment must not hold the agent's settings or the job secret (%v):\n%s", err, out)
	}
	for i, a := range agents {
		if strings.Contains(a.Logs()+a.Stdout(), secret) {
			t.Errorf("worker-%d printed the job secret", i)
		}
	}
	out, err = ssh(0, "worker-1", `ssh -o BatchMode=yes -o ConnectTimeout=10 worker-0 'echo $SSH_CONNECTION'`)
	if err != nil {
		t.Fatalf("ssh worker-1 then from there ssh worker-0: %v\n%s", err, out)
	}
	checkConnection("worker-1 → worker-0", out, 1, 0)
	if logs := agents[1].Logs(); !strings.Contains(logs, "from job host worker-0") {
		t.Errorf("worker-1 logged no login with the job key from worker-0:\n%s", logs)
	}
}

// checkStrangerAndIDContainer: a stranger's key from inside the job (worker-0) is
// refused by worker-1's agent a; id_container from outside the job still logs in.
func checkStrangerAndIDContainer(t *testing.T, job *jobNet, acct account, a *agent, outsider int) {
	t.Helper()
	keyDir := traversableTempDir(t)
	stranger := filepath.Join(keyDir, "stranger")
	runOrFatal(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger)
	hermetic := func(from int, key string) (string, error) {
		return job.run(t, from, "/root", "ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
			"-p", jobSSHPort, acct.Name+"@worker-1", "true")
	}
	if out, err := hermetic(0, stranger); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("stranger's key from worker-0: got %v, want Permission denied\n%s", err, out)
	}
	if out, err := hermetic(outsider, a.IDFile); err != nil {
		t.Errorf("id_container from outside the job: %v\n%s", err, out)
	}
}

// checkJobClientFiles: the files job trust wrote are the account's, private where they
// must be, keep the user's own lines, and are left as they are when the agent
// restarted, one of the job's, starts again.
func checkJobClientFiles(t *testing.T, acct account, sshDir string, restarted *agent) {
	t.Helper()
	files := map[string]os.FileMode{"config": 0o644, "known_hosts": 0o644, "id_jobsshd_job": 0o600}
	before := map[string][]byte{}
	inodes := map[string]uint64{}
	for name, mode := range files {
		path := filepath.Join(sshDir, name)
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if int(sys.Uid) != acct.UID || int(sys.Gid) != acct.GID || st.Mode() != mode {
			t.Errorf("%s: got %v owned by %d:%d, want %v owned by %d:%d", path, st.Mode(), sys.Uid, sys.Gid, mode, acct.UID, acct.GID)
		}
		before[name], inodes[name] = readFileOrFatal(t, path), sys.Ino
	}
	if c := string(before["config"]); !strings.HasSuffix(c, "# END jobsshd job trust\n"+userConfig) {
		t.Errorf("~/.ssh/config lost the user's lines or the block is not first:\n%s", c)
	}
	if k := string(before["known_hosts"]); !strings.HasPrefix(k, userKnownHosts+"# BEGIN jobsshd job trust\n") {
		t.Errorf("~/.ssh/known_hosts lost the user's line:\n%s", k)
	}
	restarted.Restart()
	for name := range files {
		path := filepath.Join(sshDir, name)
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := readFileOrFatal(t, path); !bytes.Equal(got, before[name]) || st.Sys().(*syscall.Stat_t).Ino != inodes[name] {
			t.Errorf("%s was rewritten by a restart:\nbefore:\n%s\nafter:\n%s", path, before[name], got)
		}
	}
}

// lastLine is the last line of a client's combined output: the remote command's, after
// any warnings of the client.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func readFileOrFatal(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJobTrustVolcanoReadOnlySSHDir is Volcano's ssh plugin: the job's hosts in
// VC_WORKER_HOSTS, no job secret, and the account's ~/.ssh a read-only mount holding
// id_rsa, id_rsa.pub, authorized_keys (with id_rsa.pub) and Volcano's config. jobsshd
// takes id_rsa as the job key, warns that it cannot write the client files and leaves
// them alone; `ssh worker-1` works through Volcano's config, and id_rsa, although
// authorized_keys lists it, is refused from outside the job.
func TestJobTrustVolcanoReadOnlySSHDir(t *testing.T) {
	requireTool(t, "ip", "iproute2")
	requireTool(t, "runuser", "util-linux")
	requireTool(t, "mount", "mount")
	requireTool(t, "ssh-keygen", "openssh-client")
	workers := []string{"worker-0", "worker-1"}
	job := newJobNet(t, append(workers, "outsider"))
	const outsider = 2

	acct := testAccount(t, "jobtrust")
	secret := traversableTempDir(t)
	runOrFatal(t, "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", filepath.Join(secret, "id_rsa"))
	pub := readFileOrFatal(t, filepath.Join(secret, "id_rsa.pub"))
	volcanoConfig := "StrictHostKeyChecking no\nUserKnownHostsFile /dev/null\nPort " + jobSSHPort + "\n"
	for name, content := range map[string][]byte{"authorized_keys": pub, "config": []byte(volcanoConfig)} {
		if err := os.WriteFile(filepath.Join(secret, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runOrFatal(t, "chown", "-R", fmt.Sprintf("%d:%d", acct.UID, acct.GID), secret)
	if err := os.Chmod(secret, 0o700); err != nil {
		t.Fatal(err)
	}
	sshDir := filepath.Join(acct.Home, ".ssh")
	if err := os.RemoveAll(sshDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("umount", sshDir).Run() // not mounted after a failure part way
		if err := os.Remove(sshDir); err != nil {
			t.Errorf("remove %s (still mounted?): %v", sshDir, err)
		}
	})
	runOrFatal(t, "mount", "--bind", secret, sshDir)
	runOrFatal(t, "mount", "-o", "remount,bind,ro", sshDir)
	before := map[string][]byte{}
	for _, name := range []string{"id_rsa", "authorized_keys", "config"} {
		before[name] = readFileOrFatal(t, filepath.Join(secret, name))
	}

	agents := startJobAgents(t, job, acct, len(workers), []string{"VC_WORKER_HOSTS=" + strings.Join(workers, ",")})
	logs := agents[0].Logs()
	if !strings.Contains(logs, "job trust on") || !strings.Contains(logs, filepath.Join(sshDir, "id_rsa")) {
		t.Errorf("worker-0 did not turn job trust on with ~/.ssh/id_rsa:\n%s", logs)
	}
	if !strings.Contains(logs, "cannot write the ssh client files") || !strings.Contains(logs, "read-only file system") {
		t.Errorf("worker-0 did not warn that ~/.ssh is read-only:\n%s", logs)
	}

	out, err := job.ssh(t, 0, acct, "worker-1", `echo $SSH_CONNECTION`)
	if err != nil {
		t.Fatalf("ssh worker-1 from worker-0 with Volcano's files: %v\n%s", err, out)
	}
	if f := strings.Fields(lastLine(out)); len(f) != 4 || f[0] != job.addrs[0] || f[2] != job.addrs[1] {
		t.Errorf("got SSH_CONNECTION %q, want worker-0's address to worker-1's", strings.TrimSpace(out))
	}
	if !strings.Contains(agents[1].Logs(), "from job host worker-0") {
		t.Errorf("worker-1 did not log a job key login:\n%s", agents[1].Logs())
	}
	out, err = job.ssh(t, outsider, acct, "worker-1", "true")
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("id_rsa (listed in authorized_keys) from outside the job: got %v, want Permission denied\n%s", err, out)
	}
	for name, want := range before {
		if got := readFileOrFatal(t, filepath.Join(sshDir, name)); !bytes.Equal(got, want) {
			t.Errorf("~/.ssh/%s changed on a read-only mount", name)
		}
	}
}
