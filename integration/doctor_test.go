package integration

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// doctorAccount is the account the doctor tests break and repair; no other test uses it,
// and its subtests run one after another.
const doctorAccount = "jobtest-doctor"

// doctorResult is one run of `jobsshd doctor`.
type doctorResult struct {
	ExitCode int
	Stdout   string
	Stderr   string
}

// runDoctor runs `jobsshd doctor` for acct with hermetic flags (loopback, the given
// port, a fresh state dir and id_container directory) and extra flags.
func runDoctor(t *testing.T, acct account, port int, extra ...string) doctorResult {
	t.Helper()
	args := []string{"doctor", "--user", acct.Name, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--state-dir", filepath.Join(t.TempDir(), "state"),
		"--id-file", filepath.Join(accountTempDir(t, acct), "id_container")}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append(args, extra...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := doctorResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("run jobsshd %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// findingWithFix returns the report line that starts with severity and matches what,
// and the fix line under it ("" when none), failing the test when there is no such line.
func (r doctorResult) findingWithFix(t *testing.T, severity string, what *regexp.Regexp) (line, fix string) {
	t.Helper()
	lines := strings.Split(r.Stdout, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, severity+"  ") && what.MatchString(l) {
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      fix: ") {
				fix = strings.TrimPrefix(lines[i+1], "      fix: ")
			}
			return l, fix
		}
	}
	t.Fatalf("no %s line matching %q in the report:\n%s\nstderr: %s", severity, what, r.Stdout, r.Stderr)
	return "", ""
}

// TestDoctor breaks the doctor account one way per case, in turn (the cases share the
// account), and checks the finding, its fix and the exit code.
func TestDoctor(t *testing.T) {
	acct := testAccount(t, doctorAccount)
	key := newClientKey(t, "doctor")
	goodLine := pub(t, key)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, acct account, key, goodLine string)
	}{
		{"healthy", doctorHealthy},
		{"world-writable authorized_keys", doctorWorldWritableAuthorizedKeys},
		{"bad key line", doctorBadKeyLine},
		{"missing shell", doctorMissingShell},
		{"--authorized-keys file with a bad line", doctorAuthorizedKeysFlagBadLine},
		{"CA file with options", doctorCAFileWithOptions},
		{"job hosts without a secret", doctorJobHostsWithoutSecret},
		{"port taken", doctorPortTaken},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, acct, key, goodLine) })
	}
}

func doctorHealthy(t *testing.T, acct account, key, goodLine string) {
	path := writeAuthorizedKeys(t, acct, goodLine)
	res := runDoctor(t, acct, freePort(t))
	if res.ExitCode != 0 {
		t.Fatalf("exit code: got %d, want 0; report:\n%s\nstderr: %s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stdout, "FAIL  ") {
		t.Errorf("healthy account: got a FAIL finding:\n%s", res.Stdout)
	}
	for _, want := range []string{
		`^OK    account "` + doctorAccount + `"`,
		`^OK    login shell /bin/bash`,
		`^OK    ` + regexp.QuoteMeta(path) + `: 1 usable key$`,
		`^OK    port \d+ is free on 127\.0\.0\.1`,
		`^no problem found|^\d+ warnings?, no failure`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(res.Stdout) {
			t.Errorf("report has no line matching %q:\n%s", want, res.Stdout)
		}
	}
	// What doctor calls healthy really lets the key in.
	a := startAgent(t, agentOptions{User: acct.Name})
	if r := a.SSH(t, sshCall{Key: key, Command: "echo in"}); r.ExitCode != 0 || r.Stdout != "in\n" {
		t.Errorf("login with the key doctor found usable: got %s, want exit 0 and \"in\\n\"", r)
	}
}

func doctorWorldWritableAuthorizedKeys(t *testing.T, acct account, key, goodLine string) {
	path := writeAuthorizedKeys(t, acct, goodLine)
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	res := runDoctor(t, acct, freePort(t))
	if res.ExitCode != 1 {
		t.Errorf("exit code: got %d, want 1; report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "FAIL", regexp.MustCompile(regexp.QuoteMeta(path)+`.*writable by group or others`))
	if fix != "chmod go-w "+path {
		t.Errorf("fix: got %q, want %q", fix, "chmod go-w "+path)
	}
}

func doctorBadKeyLine(t *testing.T, acct account, key, goodLine string) {
	path := writeAuthorizedKeys(t, acct, goodLine, "# a comment", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBroken")
	res := runDoctor(t, acct, freePort(t))
	if res.ExitCode != 0 {
		t.Errorf("exit code: got %d, want 0 (the other key still works); report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "WARN", regexp.MustCompile(regexp.QuoteMeta(path)+` line 3 is ignored`))
	if !strings.Contains(fix, "line 3 of "+path) {
		t.Errorf("fix: got %q, want it to name line 3 of %s", fix, path)
	}
	res.findingWithFix(t, "OK", regexp.MustCompile(regexp.QuoteMeta(path)+`: 1 usable key$`))
}

func doctorMissingShell(t *testing.T, acct account, key, goodLine string) {
	writeAuthorizedKeys(t, acct, goodLine)
	setShell(t, acct.Name, "/nonexistent/shell")
	t.Cleanup(func() { setShell(t, acct.Name, "/bin/bash") })
	res := runDoctor(t, acct, freePort(t))
	if res.ExitCode != 1 {
		t.Errorf("exit code: got %d, want 1; report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "FAIL", regexp.MustCompile(`login shell /nonexistent/shell .*does not exist`))
	if !strings.Contains(fix, "usermod -s /bin/bash "+acct.Name) {
		t.Errorf("fix: got %q, want the usermod command", fix)
	}
}

func doctorAuthorizedKeysFlagBadLine(t *testing.T, acct account, key, goodLine string) {
	writeAuthorizedKeys(t, acct, goodLine)
	// Under the home (root's, 0644): StrictModes walks up to the home directory.
	dir := filepath.Join(acct.Home, "platform")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte(goodLine+"\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBroken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runDoctor(t, acct, freePort(t), "--authorized-keys", path)
	if res.ExitCode != 0 {
		t.Errorf("exit code: got %d, want 0 (the other key still works); report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "WARN", regexp.MustCompile(regexp.QuoteMeta(path)+` line 2 is ignored`))
	if !strings.Contains(fix, "line 2 of "+path) {
		t.Errorf("fix: got %q, want it to name line 2 of %s", fix, path)
	}
	res.findingWithFix(t, "OK", regexp.MustCompile(regexp.QuoteMeta(path)+`: 1 usable key$`))
}

func doctorCAFileWithOptions(t *testing.T, acct account, key, goodLine string) {
	writeAuthorizedKeys(t, acct, goodLine)
	caFile := filepath.Join(t.TempDir(), "ca.pub")
	if err := os.WriteFile(caFile, []byte(`from="10.0.0.0/8" `+goodLine+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runDoctor(t, acct, freePort(t), "--trusted-user-ca", caFile)
	if res.ExitCode != 1 {
		t.Errorf("exit code: got %d, want 1; report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "FAIL", regexp.MustCompile(regexp.QuoteMeta(caFile)+`:1: options are not allowed here.*will not start`))
	if !strings.Contains(fix, "without options") {
		t.Errorf("fix: got %q, want it to say the line takes no options", fix)
	}
	// The server agrees: it refuses to start with that file.
	if code := runServeUntilExit(t, acct, "--trusted-user-ca", caFile); code != 2 {
		t.Errorf("serve with the CA file doctor failed: exit code %d, want 2", code)
	}
}

func doctorJobHostsWithoutSecret(t *testing.T, acct account, key, goodLine string) {
	writeAuthorizedKeys(t, acct, goodLine)
	res := runDoctor(t, acct, freePort(t), "--job-hosts", "w-0,w-1")
	if res.ExitCode != 1 {
		t.Errorf("exit code: got %d, want 1; report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "FAIL", regexp.MustCompile(`--job-hosts is set but there is no job secret.*will not start`))
	if !strings.Contains(fix, "JOBSSHD_JOB_SECRET") {
		t.Errorf("fix: got %q, want it to name JOBSSHD_JOB_SECRET", fix)
	}
	if code := runServeUntilExit(t, acct, "--job-hosts", "w-0,w-1"); code != 2 {
		t.Errorf("serve with --job-hosts and no secret: exit code %d, want 2", code)
	}
}

func doctorPortTaken(t *testing.T, acct account, key, goodLine string) {
	writeAuthorizedKeys(t, acct, goodLine)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	res := runDoctor(t, acct, port)
	if res.ExitCode != 0 {
		t.Errorf("without --strict-port: exit code: got %d, want 0; report:\n%s", res.ExitCode, res.Stdout)
	}
	res.findingWithFix(t, "WARN", regexp.MustCompile(`port `+strconv.Itoa(port)+` is taken.*random free port unless --strict-port`))

	res = runDoctor(t, acct, port, "--strict-port")
	if res.ExitCode != 1 {
		t.Errorf("with --strict-port: exit code: got %d, want 1; report:\n%s", res.ExitCode, res.Stdout)
	}
	_, fix := res.findingWithFix(t, "FAIL", regexp.MustCompile(`port `+strconv.Itoa(port)+` is taken.*--strict-port is set`))
	if !strings.Contains(fix, "drop --strict-port") {
		t.Errorf("fix: got %q, want it to offer dropping --strict-port", fix)
	}
}

// setShell changes name's login shell, serialized with the other account changes.
func setShell(t *testing.T, name, shell string) {
	t.Helper()
	accountMu.Lock()
	defer accountMu.Unlock()
	runOrFatal(t, "usermod", "-s", shell, name)
}

// runServeUntilExit runs `jobsshd serve` for acct with hermetic flags and extra, for a
// configuration it must refuse, and returns its exit code. A server that starts instead
// is killed at clientTimeout and reported as -1.
func runServeUntilExit(t *testing.T, acct account, extra ...string) int {
	t.Helper()
	args := []string{"serve", "--user", acct.Name, "--bind", "127.0.0.1", "--port", strconv.Itoa(freePort(t)),
		"--state-dir", filepath.Join(t.TempDir(), "state"),
		"--id-file", filepath.Join(accountTempDir(t, acct), "id_container")}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append(args, extra...)...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Logf("jobsshd serve kept running; output:\n%s", out)
		return -1
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("run jobsshd %s: %v", strings.Join(args, " "), err)
	return -1
}
