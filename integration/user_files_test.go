package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"jobsshd/internal/testwait"
)

// TestIDContainerRevokeAndRotate: id_container is read at login, like authorized_keys:
// removing it revokes its key at once, and a key the user generates in its place logs
// in at once while the old one is refused, without a restart; the audit log names the
// file that holds the key (issue 10, item 4).
func TestIDContainerRevokeAndRotate(t *testing.T) {
	t.Parallel()
	requireTool(t, "ssh-keygen", "openssh-client")
	acct := testAccount(t, "jobtest-idrotate")
	akKey := newClientKey(t, "ak")
	writeAuthorizedKeys(t, acct, pub(t, akKey))
	a := startAgent(t, agentOptions{User: acct.Name})

	oldKey := filepath.Join(t.TempDir(), "old_id_container")
	copyFile(t, a.IDFile, oldKey, 0o600)
	if res := a.SSH(t, sshCall{Key: oldKey, Command: "echo in"}); res.ExitCode != 0 {
		t.Fatalf("login with id_container before removal: %s", res)
	}

	// The user removes it (as the user, over a login with another key).
	if res := a.SSH(t, sshCall{Key: akKey, Command: "rm " + a.IDFile + " " + a.IDFile + ".pub " + a.IDFile + ".ppk"}); res.ExitCode != 0 {
		t.Fatalf("rm id_container*: %s", res)
	}
	if res := a.SSH(t, sshCall{Key: oldKey, Command: "echo in"}); res.ExitCode != 255 {
		t.Errorf("old id_container key after rm: got %s, want it refused (exit 255)", res)
	}

	// The user generates a new one at the same path.
	if res := a.SSH(t, sshCall{Key: akKey, Command: "ssh-keygen -q -t ed25519 -N '' -C rotated -f " + a.IDFile}); res.ExitCode != 0 {
		t.Fatalf("ssh-keygen as the user: %s", res)
	}
	newKey := filepath.Join(t.TempDir(), "new_id_container")
	copyFile(t, a.IDFile, newKey, 0o600)
	newFP := keyFingerprint(t, newKey)
	if res := a.SSH(t, sshCall{Key: newKey, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("new id_container key: got %s, want it accepted", res)
	}
	if res := a.SSH(t, sshCall{Key: oldKey, Command: "echo in"}); res.ExitCode != 255 {
		t.Errorf("old id_container key after rotation: got %s, want it refused (exit 255)", res)
	}

	// The audit line of the new key's login names the file that holds it.
	accept := regexp.MustCompile(`event=auth\.accept key=` + regexp.QuoteMeta(newFP) + ` key_source=(\S+)`)
	m := accept.FindAllStringSubmatch(a.Logs(), -1)
	if len(m) == 0 {
		t.Errorf("no auth.accept line for the new key %s in the log:\n%s", newFP, a.Logs())
	}
	for _, sub := range m {
		if sub[1] != a.IDFile {
			t.Errorf("auth.accept of the new key names %q, want %q", sub[1], a.IDFile)
		}
	}
}

// TestIDContainerDerivedFilesDoNotStopStart: a symlink at ~/id_container.ppk (to a root
// file) and a FIFO at ~/id_container.pub are the user's to make; the agent logs each
// with the fix and serves, never following or blocking on them, also through
// entrypoint.sh with JOBSSHD_REQUIRED=1 (issue 10, item 10).
func TestIDContainerDerivedFilesDoNotStopStart(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, defaultTestUser)
	// The user's existing key (as ssh-keygen leaves it), with a .ppk symlink and a
	// .pub FIFO beside it.
	a := &agent{t: t, Account: acct, IDFile: filepath.Join(accountTempDir(t, acct), "id_container")}
	runOrFatal(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", a.IDFile)
	if err := os.Chown(a.IDFile, acct.UID, acct.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(a.IDFile + ".pub"); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "root-secret")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, a.IDFile+".ppk"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(a.IDFile+".pub", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a.IDFile + ".ppk", a.IDFile + ".pub"} {
		if err := os.Lchown(p, a.Account.UID, a.Account.GID); err != nil {
			t.Fatal(err)
		}
	}

	a = startAgent(t, agentOptions{IDFile: a.IDFile})
	// The client gets a copy: ssh itself reads the .pub beside a key, and would block
	// on the FIFO.
	clientKey := filepath.Join(t.TempDir(), "id")
	copyFile(t, a.IDFile, clientKey, 0o600)
	if res := a.SSH(t, sshCall{Key: clientKey, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("login with id_container: got %s", res)
	}
	logs := a.Logs()
	for _, p := range []string{a.IDFile + ".ppk", a.IDFile + ".pub"} {
		if !strings.Contains(logs, p+" left as it is") || !strings.Contains(logs, "rm "+p) || !strings.Contains(logs, "id_container file skipped") {
			t.Errorf("log does not name %s and the fix (rm):\n%s", p, logs)
		}
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "root only\n" {
		t.Errorf("symlink target: %q, %v; want it untouched", b, err)
	}
	if fi, err := os.Lstat(secret); err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("symlink target mode or owner changed: %v, %v", fi.Mode(), err)
	}
	a.Stop()

	// The same home through entrypoint.sh with JOBSSHD_REQUIRED=1: the job runs.
	forEachShell(t, func(t *testing.T, sh entrypointShell) {
		dir := t.TempDir()
		env := []string{
			"JOBSSHD_ENABLE=1", "JOBSSHD_REQUIRED=1",
			"JOBSSHD_BIN=" + binPath,
			"JOBSSHD_PORT=0",
			"JOBSSHD_BIND=127.0.0.1",
			"JOBSSHD_STATE_DIR=" + t.TempDir(),
			"JOBSSHD_USER=" + a.Account.Name,
			"JOBSSHD_ID_FILE=" + a.IDFile,
		}
		r := startEntrypoint(t, sh, env, nil, `: >"$1/ran"`, dir)
		if got := r.wait(t); got != 0 {
			t.Errorf("entrypoint exit %d, want the job's 0\nstderr:\n%s", got, r.stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
			t.Errorf("the job did not run: %v\nstderr:\n%s", err, r.stderr.String())
		}
	})
}

// TestUnwritableHomeServes: when id_container cannot be created (a home the account
// cannot write; a read-only mount is the same EROFS/EACCES to the agent), the agent
// serves authorized_keys logins, warns once with the fix, and status.json says there is
// no id_container; doctor says the same (issue 10, item 14).
func TestUnwritableHomeServes(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, "jobtest-rohome")
	key := newClientKey(t, "ak")
	writeAuthorizedKeys(t, acct, pub(t, key))
	rootDir := traversableTempDir(t) // root's 0755: the account cannot write it
	idFile := filepath.Join(rootDir, "id_container")

	a := startAgent(t, agentOptions{User: acct.Name, IDFile: idFile})
	if res := a.SSH(t, sshCall{Key: key, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("authorized_keys login: got %s, want exit 0", res)
	}
	b, err := os.ReadFile(filepath.Join(a.StateDir, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		IDFile        string `json:"id_file"`
		IDFileMissing bool   `json:"id_file_missing"`
		IDFileProblem string `json:"id_file_problem"`
		Port          int    `json:"port"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if !st.IDFileMissing || !strings.Contains(st.IDFileProblem, "permission denied") || st.IDFile != idFile || st.Port == 0 {
		t.Errorf("status.json: got %s, want id_file kept, id_file_missing true and the reason", b)
	}
	if n := strings.Count(a.Logs(), `msg="no id_container"`); n != 1 {
		t.Errorf("got %d warnings about the missing id_container, want 1:\n%s", n, a.Logs())
	}
	if !strings.Contains(a.Logs(), "--id-file") {
		t.Errorf("the warning does not name the fix:\n%s", a.Logs())
	}
	if entries, _ := os.ReadDir(rootDir); len(entries) != 0 {
		t.Errorf("got %d files in the directory the account cannot write, want none", len(entries))
	}
	// The connect text may reach the harness's copy of stdout after status.json.
	testwait.Until(statusTimeout, func() bool { return strings.Contains(a.Logs(), "known_hosts lines") })
	if out := a.Logs(); !strings.Contains(out, "There is no id_container key") || strings.Contains(out, "ssh -i id_container") {
		t.Errorf("connect info: want it to say there is no id_container and not offer it:\n%s", out)
	}

	res := runDoctor(t, acct, freePort(t), "--id-file", idFile)
	line, fix := res.findingWithFix(t, "WARN", regexp.MustCompile(regexp.QuoteMeta(idFile)+` does not exist .*starts without id_container`))
	if !strings.Contains(fix, "--id-file") || strings.Contains(res.Stdout, "FAIL  "+idFile) {
		t.Errorf("doctor: got %q (fix %q), want a warning with the fix and no failure", line, fix)
	}
}

// TestTransfersWithBinaryInPrivateDirectory: the binary in a directory the served account
// cannot enter (a 0700 temp directory, a root-only mount) still serves sftp and scp,
// since the agent executes itself through /proc/self/exe; when the account may not
// execute the file itself, the agent and doctor say so with the fix (issue 10, item 15).
func TestTransfersWithBinaryInPrivateDirectory(t *testing.T) {
	t.Parallel()
	private := filepath.Join(t.TempDir(), "private") // root's, 0700: the account cannot enter it
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(private, "jobsshd")
	copyFile(t, binPath, bin, 0o755)
	wrapper := []string{"sh", "-c", `shift; exec "$0" "$@"`, bin}

	a := startAgent(t, agentOptions{Wrapper: wrapper})
	if strings.Contains(a.Logs(), "sftp and scp will fail") {
		t.Errorf("agent warns although the account may execute the binary:\n%s", a.Logs())
	}
	rel, abs := userDir(t, a.Account)
	local := t.TempDir()
	writeRandomFile(t, filepath.Join(local, "up.bin"), 256<<10+3, 7, 0o644)
	res := a.sftpBatch(t, "put "+filepath.Join(local, "up.bin")+" "+rel+"/up.bin\nget "+rel+"/up.bin "+filepath.Join(local, "down.bin")+"\n")
	if res.ExitCode != 0 {
		t.Fatalf("sftp with the binary in a 0700 directory: %s", res)
	}
	requireSameContent(t, filepath.Join(local, "up.bin"), filepath.Join(abs, "up.bin"))
	requireSameContent(t, filepath.Join(local, "up.bin"), filepath.Join(local, "down.bin"))
	for _, mode := range []string{"-s", "-O"} { // SFTP-based scp, then the legacy protocol
		res := a.scp(t, mode, filepath.Join(local, "up.bin"), a.remote(rel+"/scp"+mode+".bin"))
		if res.ExitCode != 0 {
			t.Errorf("scp %s with the binary in a 0700 directory: %s", mode, res)
			continue
		}
		requireSameContent(t, filepath.Join(local, "up.bin"), filepath.Join(abs, "scp"+mode+".bin"))
	}
	checkChildName(t, a, rel+"/up.bin")
	a.Stop()

	// Execute-only (0711): the account may run it but not read it; exec needs only
	// the execute bit (the kernel then makes the process non-dumpable, fs/exec.c
	// would_dump, so its /proc/PID/exe stays closed to the account).
	if err := os.Chmod(bin, 0o711); err != nil {
		t.Fatal(err)
	}
	x := startAgent(t, agentOptions{Wrapper: wrapper})
	if res := x.sftpBatch(t, "get "+rel+"/up.bin "+filepath.Join(local, "x.bin")+"\n"); res.ExitCode != 0 {
		t.Errorf("sftp with an execute-only binary in a 0700 directory: %s", res)
	}
	x.Stop()

	// A binary the account may not execute at all: said at start and by doctor.
	if err := os.Chmod(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	b := startAgent(t, agentOptions{Wrapper: wrapper})
	if logs := b.Logs(); !strings.Contains(logs, "sftp and scp will fail") || !strings.Contains(logs, "chmod 755 "+bin) {
		t.Errorf("agent start with a 0700 binary: log lacks the problem and the fix:\n%s", logs)
	}
	b.Run(t, "true") // shell logins still work (and the agent is past its start-up)
	b.Stop()
	out := runBinaryAt(t, bin, "doctor", "--user", b.Account.Name, "--bind", "127.0.0.1", "--port", "0",
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--id-file", filepath.Join(accountTempDir(t, b.Account), "id_container"))
	if !regexp.MustCompile(`(?m)^FAIL  .*cannot execute the jobsshd binary `+regexp.QuoteMeta(bin)).MatchString(out) ||
		!strings.Contains(out, "chmod 755 "+bin) {
		t.Errorf("doctor with a 0700 binary: no FAIL naming it and the fix:\n%s", out)
	}
}

// checkChildName holds a legacy scp download of remote open (the client sends nothing,
// so the agent's scp child waits) and checks that the child, started through
// /proc/self/exe, is named "jobsshd" for ps, top and pgrep, not "exe".
func checkChildName(t *testing.T, a *agent, remote string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", a.sshArgs(sshCall{Command: "scp -f " + remote})...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()  // the scp child sees EOF and ends
		_ = cmd.Wait() // its exit status is not what is tested
	}()
	started := regexp.MustCompile(`command="scp -f [^"]*" event=session\.start pid=(\d+)`)
	var pid string
	if !testwait.Until(clientTimeout, func() bool {
		m := started.FindStringSubmatch(a.Logs())
		if m != nil {
			pid = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("no scp session started:\n%s", a.Logs())
	}
	// The child names itself at the start of its main (process_name_linux.go), which
	// may come after the agent logged its start: wait for the name, bounded.
	var got string
	if !testwait.Until(clientTimeout, func() bool {
		var comm []byte
		comm, err = os.ReadFile("/proc/" + pid + "/comm")
		got = strings.TrimSpace(string(comm))
		return err != nil || got == "jobsshd"
	}) {
		t.Errorf("scp child's command name: got %q, want \"jobsshd\"", got)
	}
	if err != nil {
		t.Fatalf("scp child %s: %v", pid, err)
	}
}

// runBinaryAt runs the jobsshd binary at bin with args, to completion (bounded), and
// returns its stdout.
func runBinaryAt(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = agentEnv(nil)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %s: %v\nstderr: %s", bin, err, errOut.String())
	}
	return out.String()
}

// TestUnsafeStateDirRefused: a state directory its group can write (a Kubernetes
// fsGroup volume) is refused at start with exit 2 and the fix, and doctor fails it the
// same way (issue 10, item 2).
func TestUnsafeStateDirRefused(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, defaultTestUser)
	stateDir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(stateDir, 0, acct.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stateDir, 0o2770); err != nil {
		t.Fatal(err)
	}
	args := []string{"--user", acct.Name, "--bind", "127.0.0.1", "--port", "0", "--state-dir", stateDir,
		"--id-file", filepath.Join(accountTempDir(t, acct), "id_container")}
	_, stderr, code := runBinary(t, nil, args...)
	if code != 2 || !strings.Contains(stderr, stateDir) || !strings.Contains(stderr, "chmod go-w "+stateDir) {
		t.Errorf("serve with a group-writable state dir: exit %d, stderr %q; want exit 2 naming it and the fix", code, stderr)
	}
	if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
		t.Errorf("got %d files written in the refused state dir, want none", len(entries))
	}
	out := runBinaryAt(t, binPath, append([]string{"doctor"}, args...)...)
	if !regexp.MustCompile(`(?m)^FAIL  state directory ` + regexp.QuoteMeta(stateDir) + ` is writable by group or others`).MatchString(out) {
		t.Errorf("doctor: no FAIL for the group-writable state dir:\n%s", out)
	}
}
