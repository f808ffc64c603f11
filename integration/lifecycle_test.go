package integration

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	before := time.Now()
	a := startAgent(t, agentOptions{})
	s := a.Status
	if s.Bind != "127.0.0.1" || s.User != a.Account.Name || s.IDFile != a.IDFile {
		t.Errorf("status.json bind %q, user %q, id_file %q; want 127.0.0.1, %s, %s", s.Bind, s.User, s.IDFile, a.Account.Name, a.IDFile)
	}
	started, err := time.Parse(time.RFC3339, s.StartedAt)
	if err != nil {
		t.Errorf("status.json started_at %q is not RFC 3339: %v", s.StartedAt, err)
	} else if started.Before(before.Add(-time.Minute)) || started.After(time.Now().Add(time.Minute)) {
		t.Errorf("status.json started_at %v, want about now (%v)", started, before)
	}
	for _, kt := range []struct{ typ, file string }{
		{"ssh-ed25519", "ssh_host_ed25519_key"},
		{"ssh-rsa", "ssh_host_rsa_key"},
	} {
		got := s.fingerprint(t, kt.typ)
		if want := keyFingerprint(t, filepath.Join(a.StateDir, kt.file)); got != want {
			t.Errorf("status.json %s fingerprint %q, want %q (of %s)", kt.typ, got, want, kt.file)
		}
	}
	stdout, stderr, code := runBinary(t, nil, "version")
	if code != 0 || strings.TrimSpace(stdout) == "" {
		t.Errorf("jobsshd version: exit %d, stdout %q, stderr %q; want exit 0 and a version", code, stdout, stderr)
	}
	if s.Version == "" || !strings.Contains(stdout, s.Version) {
		t.Errorf("status.json version %q, want the one `jobsshd version` prints (%q)", s.Version, stdout)
	}
	// The port in status.json is the one that serves.
	if got := a.Run(t, "echo in"); got != "in\n" {
		t.Errorf("login on status.json's port: got %q", got)
	}
}

// keyFingerprint is ssh-keygen's SHA256 fingerprint of a key file (private or public).
func keyFingerprint(t *testing.T, path string) string {
	t.Helper()
	f := strings.Fields(runOrFatal(t, "ssh-keygen", "-l", "-E", "sha256", "-f", path))
	if len(f) < 2 {
		t.Fatalf("ssh-keygen -l -f %s: unexpected output %q", path, f)
	}
	return f[1]
}

// TestConnectInfo: the agent prints how to connect on stderr, never stdout, and the known_hosts line it prints
// lets OpenSSH connect with strict host key checking.
func TestConnectInfo(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	port := strconv.Itoa(a.Port)
	knownHosts := regexp.MustCompile(`\[127\.0\.0\.1\]:` + port + ` ssh-ed25519 AAAA[0-9A-Za-z+/=]+`)
	if !testwait.Until(5*time.Second, func() bool { return knownHosts.MatchString(a.Logs()) }) {
		t.Fatalf("stderr has no known_hosts line matching %q:\n%s", knownHosts, a.Logs())
	}
	out := a.Logs()
	// stdout is the job's under entrypoint.sh (issue 13, finding 2)
	if s := a.Stdout(); s != "" {
		t.Errorf("the agent wrote to stdout, which belongs to the job: %q", s)
	}
	for _, want := range []string{
		`ssh -i \S+ -p ` + port + ` ` + a.Account.Name + `@\S+`,
		`(?m)^\s*Host\s+\S+`,
		`(?m)^\s*Port\s+` + port + `\s*$`,
		`(?m)^\s*User\s+` + a.Account.Name + `\s*$`,
		`(?m)^\s*IdentityFile\s+\S+`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("stderr does not match %q:\n%s", want, out)
		}
	}

	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(knownHosts.FindString(out)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	b, err := exec.CommandContext(ctx, "ssh", "-F", "/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+file, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
		"-i", a.IDFile, "-p", port, a.Account.Name+"@127.0.0.1", "echo verified").CombinedOutput()
	if err != nil || string(b) != "verified\n" {
		t.Errorf("ssh with only the printed known_hosts line and StrictHostKeyChecking=yes: %v, %q", err, b)
	}
}

// TestRestartKeepsKeys: host keys (as clients see them) and id_container survive a
// restart.
func TestRestartKeepsKeys(t *testing.T) {
	t.Parallel()
	requireTool(t, "ssh-keyscan", "openssh-client")
	a := startAgent(t, agentOptions{})
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		fi, err := os.Stat(filepath.Join(a.StateDir, name))
		if err != nil {
			t.Errorf("host key file: %v", err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if f := strings.Fields(runOrFatal(t, "ssh-keygen", "-l", "-f", filepath.Join(a.StateDir, "ssh_host_rsa_key"))); f[0] != "3072" {
		t.Errorf("RSA host key has %s bits, want 3072", f[0])
	}
	idFiles := []string{a.IDFile, a.IDFile + ".pub", a.IDFile + ".ppk"}
	readAll := func() [][]byte {
		var out [][]byte
		for _, p := range idFiles {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	statusBefore, scanBefore, idBefore := a.Status.HostKeys, keyscan(t, a.Port), readAll()
	if len(scanBefore) != 2 {
		t.Errorf("ssh-keyscan -t ed25519,rsa found %d keys, want 2: %q", len(scanBefore), scanBefore)
	}
	for _, line := range scanBefore { // what clients see is what status.json reports
		f := strings.Fields(line)
		fp := keyFingerprintOfLine(t, line)
		if got := a.Status.fingerprint(t, f[0]); got != fp {
			t.Errorf("ssh-keyscan %s fingerprint %s, status.json says %s", f[0], fp, got)
		}
	}

	a.Restart()
	if !slices.Equal(a.Status.HostKeys, statusBefore) {
		t.Errorf("status.json host_keys after restart %v, before %v", a.Status.HostKeys, statusBefore)
	}
	if scanAfter := keyscan(t, a.Port); !slices.Equal(scanAfter, scanBefore) {
		t.Errorf("ssh-keyscan after restart:\n%s\nbefore:\n%s", strings.Join(scanAfter, "\n"), strings.Join(scanBefore, "\n"))
	}
	for i, b := range readAll() {
		if string(b) != string(idBefore[i]) {
			t.Errorf("%s changed on restart; it must never be overwritten", idFiles[i])
		}
	}
	a.Run(t, "true")
}

// keyscan returns the sorted "type base64" host keys ssh-keyscan sees.
func keyscan(t *testing.T, port int) []string {
	t.Helper()
	out := runOrFatal(t, "ssh-keyscan", "-T", "10", "-p", strconv.Itoa(port), "-t", "ed25519,rsa", "127.0.0.1")
	var keys []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(line, "#") {
			keys = append(keys, f[1]+" "+f[2])
		}
	}
	slices.Sort(keys)
	return keys
}

func keyFingerprintOfLine(t *testing.T, typeAndBlob string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pub")
	if err := os.WriteFile(path, []byte(typeAndBlob+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return keyFingerprint(t, path)
}

func TestIDContainerFiles(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	checkIDFiles(t, a, "ssh-ed25519")
}

func TestIDContainerRSA(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Args: []string{"--key-type", "rsa"}})
	checkIDFiles(t, a, "ssh-rsa")
}

// checkIDFiles: id_container is an OpenSSH private key of keyType, 0600 and owned by the
// account; .pub matches it; .ppk (also a private key) is not readable by others; and
// the key logs in.
func checkIDFiles(t *testing.T, a *agent, keyType string) {
	t.Helper()
	b, err := os.ReadFile(a.IDFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "-----BEGIN OPENSSH PRIVATE KEY-----\n") {
		t.Errorf("%s is not an OpenSSH private key: starts %q", a.IDFile, tail(string(b[:min(len(b), 40)]), 40))
	}
	for _, p := range []string{a.IDFile, a.IDFile + ".ppk"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Error(err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm()&0o077 != 0 || (p == a.IDFile && fi.Mode().Perm() != 0o600) {
			t.Errorf("%s mode %v, want 0600 (it holds the private key)", p, fi.Mode().Perm())
		}
		if int(st.Uid) != a.Account.UID || int(st.Gid) != a.Account.GID {
			t.Errorf("%s owned by %d:%d, want the account %d:%d", p, st.Uid, st.Gid, a.Account.UID, a.Account.GID)
		}
	}
	pubKey := readPublicKey(t, a.IDFile+".pub")
	if !strings.HasPrefix(pubKey, keyType+" ") {
		t.Errorf("%s.pub is %q, want a %s key", a.IDFile, pubKey, keyType)
	}
	if derived := keyTypeAndBlob(t, runOrFatal(t, "ssh-keygen", "-y", "-f", a.IDFile)); derived != pubKey {
		t.Errorf("public key of %s is %q, but %s.pub says %q", a.IDFile, derived, a.IDFile, pubKey)
	}
	ppk, err := os.ReadFile(a.IDFile + ".ppk")
	if err != nil {
		t.Fatal(err)
	}
	if want := "PuTTY-User-Key-File-3: " + keyType + "\n"; !strings.HasPrefix(string(ppk), want) && !strings.HasPrefix(string(ppk), strings.Replace(want, "-3:", "-2:", 1)) {
		t.Errorf("%s.ppk starts %q, want %q", a.IDFile, tail(string(ppk[:min(len(ppk), 40)]), 40), want)
	}
	if got := a.Run(t, "echo in"); got != "in\n" {
		t.Errorf("login with id_container: got %q", got)
	}
}

// TestIDContainerExistingKept: a key already at --id-file is used, not replaced.
func TestIDContainerExistingKept(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, defaultTestUser)
	idFile := filepath.Join(accountTempDir(t, acct), "id_container")
	runOrFatal(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "preexisting", "-f", idFile)
	for _, p := range []string{idFile, idFile + ".pub"} {
		if err := os.Chown(p, acct.UID, acct.GID); err != nil { // the user's own key
			t.Fatal(err)
		}
	}
	before, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, agentOptions{IDFile: idFile})
	if after, err := os.ReadFile(idFile); err != nil || string(after) != string(before) {
		t.Errorf("existing %s was replaced (err %v)", idFile, err)
	}
	if got := a.Run(t, "echo in"); got != "in\n" {
		t.Errorf("login with the pre-existing id_container: got %q", got)
	}
}

// TestPreferredPortTaken: a taken preferred port falls back to a free one, reported in
// status.json and the logs; with --strict-port it is a runtime failure (exit 1).
func TestPreferredPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // parallel subtests run after this function returns
	taken := ln.Addr().(*net.TCPAddr).Port

	t.Run("fallback", func(t *testing.T) {
		a := startAgent(t, agentOptions{Port: taken})
		if a.Port == taken {
			t.Fatalf("status.json port = %d, the taken port", a.Port)
		}
		if got := a.Run(t, "echo in"); got != "in\n" {
			t.Errorf("login on the fallback port %d: got %q", a.Port, got)
		}
		if !testwait.Until(2*time.Second, func() bool { return strings.Contains(a.Logs(), strconv.Itoa(a.Port)) }) {
			t.Errorf("logs do not report the fallback port %d", a.Port)
		}
	})
	t.Run("strict", func(t *testing.T) {
		dir := t.TempDir()
		_, stderr, code := runBinary(t, nil, "--user", defaultTestUser, "--bind", "127.0.0.1",
			"--port", strconv.Itoa(taken), "--strict-port",
			"--state-dir", filepath.Join(dir, "state"), "--id-file", filepath.Join(accountTempDir(t, testAccount(t, defaultTestUser)), "id"))
		if code != 1 || !strings.Contains(stderr, strconv.Itoa(taken)) {
			t.Errorf("--strict-port on taken port %d: exit %d, stderr %q; want exit 1 naming the port", taken, code, stderr)
		}
	})
}

// TestFlagErrors: bad flags exit 2 with a message saying what is wrong.
func TestFlagErrors(t *testing.T) {
	t.Parallel()
	testAccount(t, defaultTestUser)
	tests := []struct {
		name    string
		args    []string
		env     []string
		mention string
	}{
		{name: "port not a number", args: []string{"--port", "notanumber"}, mention: "notanumber"},
		{name: "port out of range", args: []string{"--port", "70000"}, mention: "70000"},
		{name: "unknown user", args: []string{"--user", "doesnotexist-jobsshd"}, mention: "doesnotexist-jobsshd"},
		{name: "unknown key type", args: []string{"--key-type", "dsa"}, mention: "dsa"},
		{name: "unknown flag", args: []string{"--no-such-flag"}, mention: "no-such-flag"},
		{name: "port env not a number", env: []string{"JOBSSHD_PORT=notanumber"}, mention: "notanumber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := append([]string{"--user", defaultTestUser, "--bind", "127.0.0.1",
				"--state-dir", filepath.Join(dir, "state"), "--id-file", filepath.Join(accountTempDir(t, testAccount(t, defaultTestUser)), "id")}, tt.args...)
			_, stderr, code := runBinary(t, tt.env, args...)
			if code != 2 || !strings.Contains(stderr, tt.mention) {
				t.Errorf("jobsshd %s (env %v): exit %d, stderr %q; want exit 2 and a message naming %q",
					strings.Join(tt.args, " "), tt.env, code, stderr, tt.mention)
			}
		})
	}
}

// TestEnvVarSettings: every flag has a JOBSSHD_ variable; a flag wins over its variable.
func TestEnvVarSettings(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // parallel subtests run after this function returns
	taken := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	t.Run("variables only", func(t *testing.T) {
		t.Parallel()
		state := filepath.Join(t.TempDir(), "state")
		idFile := filepath.Join(accountTempDir(t, testAccount(t, defaultTestUser)), "id_env")
		a := startAgent(t, agentOptions{NoFlags: true, StateDir: state, IDFile: idFile, Env: []string{
			"JOBSSHD_USER=" + defaultTestUser, "JOBSSHD_BIND=127.0.0.1", "JOBSSHD_PORT=0",
			"JOBSSHD_STATE_DIR=" + state, "JOBSSHD_ID_FILE=" + idFile, "JOBSSHD_KEY_TYPE=rsa",
		}})
		if s := a.Status; s.User != defaultTestUser || s.Bind != "127.0.0.1" || s.IDFile != idFile {
			t.Errorf("status.json user %q, bind %q, id_file %q; want %s, 127.0.0.1, %s", s.User, s.Bind, s.IDFile, defaultTestUser, idFile)
		}
		if k := readPublicKey(t, idFile+".pub"); !strings.HasPrefix(k, "ssh-rsa ") {
			t.Errorf("JOBSSHD_KEY_TYPE=rsa made %q", k)
		}
		a.Run(t, "true")
	})
	t.Run("strict port variable", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, stderr, code := runBinary(t, []string{"JOBSSHD_PORT=" + taken, "JOBSSHD_STRICT_PORT=true"},
			"--user", defaultTestUser, "--bind", "127.0.0.1",
			"--state-dir", filepath.Join(dir, "state"), "--id-file", filepath.Join(accountTempDir(t, testAccount(t, defaultTestUser)), "id"))
		if code != 1 || !strings.Contains(stderr, taken) {
			t.Errorf("JOBSSHD_PORT=%s (taken) JOBSSHD_STRICT_PORT=true: exit %d, stderr %q; want exit 1 naming the port", taken, code, stderr)
		}
	})
	t.Run("flags win", func(t *testing.T) {
		t.Parallel()
		envID := filepath.Join(t.TempDir(), "id_from_env")
		a := startAgent(t, agentOptions{Args: []string{"--key-type", "ed25519"}, Env: []string{
			"JOBSSHD_USER=nobody", "JOBSSHD_BIND=0.0.0.0", "JOBSSHD_PORT=" + taken, "JOBSSHD_STRICT_PORT=true",
			"JOBSSHD_STATE_DIR=" + filepath.Join(t.TempDir(), "state-from-env"), "JOBSSHD_ID_FILE=" + envID,
			"JOBSSHD_KEY_TYPE=rsa",
		}})
		if s := a.Status; s.User != defaultTestUser || s.Bind != "127.0.0.1" || s.IDFile != a.IDFile || s.Port == atoi(taken) {
			t.Errorf("status.json user %q, bind %q, id_file %q, port %d; want the flags' %s, 127.0.0.1, %s, not %s",
				s.User, s.Bind, s.IDFile, s.Port, defaultTestUser, a.IDFile, taken)
		}
		if _, err := os.Stat(envID); err == nil {
			t.Errorf("JOBSSHD_ID_FILE %s was created although --id-file was given", envID)
		}
		if k := readPublicKey(t, a.IDFile+".pub"); !strings.HasPrefix(k, "ssh-ed25519 ") {
			t.Errorf("--key-type ed25519 with JOBSSHD_KEY_TYPE=rsa made %q", k)
		}
		a.Run(t, "true")
	})
}

// TestShutdownSignals: SIGTERM and SIGINT shut down cleanly (exit 0) and stop listening.
func TestShutdownSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, agentOptions{})
			a.Run(t, "true")
			a.Stop(sig)
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(a.Port), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("port %d still accepts connections after %v", a.Port, sig)
			}
		})
	}
}
