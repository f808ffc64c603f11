package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// hangupTimeout bounds how long a SIGHUP takes to show in the agent's log.
const hangupTimeout = 10 * time.Second

// hangUp sends the agent SIGHUP and waits until its log shows the reload finished,
// which is the n-th line containing done.
func (a *agent) hangUp(t *testing.T, done string, n int) {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("send SIGHUP: %v", err)
	}
	if !testwait.Until(hangupTimeout, func() bool { return strings.Count(a.Logs(), done) >= n || !a.running() }) || !a.running() {
		t.Fatalf("after SIGHUP: agent running %v, log lines %q: %d, want %d within %v (exit: %v)",
			a.running(), done, strings.Count(a.Logs(), done), n, hangupTimeout, a.waitErr)
	}
}

// TestHangupKeepsSessions: SIGHUP is a reload, not the end of the agent (issue 10, item
// 11): an open session goes on, status.json stays, new logins work, and SIGTERM still
// shuts down cleanly afterwards.
func TestHangupKeepsSessions(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	session := startBackgroundClient(t, "ssh", a.sshArgs(sshCall{Opts: []string{"-T"}, Command: `echo PID $$; exec cat`})...)
	session.pid(t)

	a.hangUp(t, "reload: authorized keys", 1)
	if _, err := fmt.Fprintln(session.stdin, "still here"); err != nil {
		t.Fatalf("write to the session after SIGHUP: %v", err)
	}
	select {
	case l, ok := <-session.lines:
		if !ok || l != "still here" {
			t.Errorf("session after SIGHUP echoed %q (open %v), want \"still here\"", l, ok)
		}
	case <-time.After(clientTimeout):
		t.Fatalf("session after SIGHUP: no echo within %v", clientTimeout)
	}
	if _, err := os.Stat(filepath.Join(a.StateDir, "status.json")); err != nil {
		t.Errorf("status.json after SIGHUP: %v", err)
	}
	if got := a.Run(t, "echo after"); got != "after\n" {
		t.Errorf("login after SIGHUP: %q", got)
	}
	// A second one works as the first (the signal stays caught).
	a.hangUp(t, "reload: authorized keys", 2)
	a.Stop() // fails the test unless it exits 0
}

// TestHangupReloadsTrustedCAs: a --trusted-user-ca file changed on disk takes effect
// with SIGHUP, for new logins; a broken file is reported and the CAs in force stay.
func TestHangupReloadsTrustedCAs(t *testing.T) {
	t.Parallel()
	oldCA, newCA := newCA(t, "old-ca"), newCA(t, "new-ca")
	caFile := filepath.Join(traversableTempDir(t), "trusted-user-ca.pub")
	writeCAs := func(content string) {
		t.Helper()
		// Written beside and renamed over, as a platform would update it.
		tmp := caFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, caFile); err != nil {
			t.Fatal(err)
		}
	}
	writeCAs(pub(t, oldCA) + "\n")
	a := startAgent(t, agentOptions{Args: []string{"--trusted-user-ca", caFile}})
	user := a.Account.Name
	oldCert := certifiedKey(t, oldCA, "old-cert", "-n", user)
	newCert := certifiedKey(t, newCA, "new-cert", "-n", user)
	loginWith := func(key string) bool {
		t.Helper()
		return a.SSH(t, sshCall{Key: key, Command: "true"}).ExitCode == 0
	}
	if !loginWith(oldCert) || loginWith(newCert) {
		t.Fatalf("before the change: old CA's certificate must log in, new CA's must not\nagent log:\n%s", a.Logs())
	}

	writeCAs(pub(t, newCA) + "\n")
	if !loginWith(oldCert) {
		t.Fatalf("the file changed but no SIGHUP yet: the old CA stays in force until one")
	}
	a.hangUp(t, "reload: trusted user CAs changed", 1)
	if loginWith(oldCert) || !loginWith(newCert) {
		t.Errorf("after SIGHUP: old CA's certificate must be refused, new CA's accepted\nagent log:\n%s", a.Logs())
	}

	writeCAs("this is not a public key\n")
	a.hangUp(t, "trusted user CA files not reloaded", 1)
	if !loginWith(newCert) || loginWith(oldCert) {
		t.Errorf("after SIGHUP with a broken file: want the CAs in force kept (new CA only)\nagent log:\n%s", a.Logs())
	}
	if !strings.Contains(a.Logs(), "level=ERROR") {
		t.Errorf("a broken CA file at SIGHUP logs no error:\n%s", a.Logs())
	}
}

// TestHangupReloadsLogLevel: --log-level-file is read again on SIGHUP; a file others
// may write is refused and the level stays.
func TestHangupReloadsLogLevel(t *testing.T) {
	t.Parallel()
	levelFile := filepath.Join(t.TempDir(), "log-level")
	if err := os.WriteFile(levelFile, []byte("info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An authorized_keys source of this test's own: the account's home is shared with
	// other tests, whose ~/.ssh/authorized_keys decides whether a login logs anything at
	// debug level; a source changed since it was last read always does ("authorized_keys
	// read").
	// It lives in a directory of the home (StrictModes refuses one below /tmp).
	_, keysDir := userDir(t, testAccount(t, defaultTestUser))
	extraKeys := filepath.Join(keysDir, "extra_authorized_keys")
	writeFile(t, extraKeys, "# no keys\n", 0o644)
	a := startAgent(t, agentOptions{Args: []string{"--log-level-file", levelFile, "--authorized-keys", extraKeys}})
	const debugLine = "level=DEBUG"
	a.Run(t, "true")
	if strings.Contains(a.Logs(), debugLine) {
		t.Fatalf("level info from the file, yet debug lines:\n%s", a.Logs())
	}
	if err := os.WriteFile(levelFile, []byte("debug\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.hangUp(t, "reload: log level changed", 1)
	writeFile(t, extraKeys, "# still no keys, but changed since the reload\n", 0o644)
	a.Run(t, "true")
	// The session's debug lines may follow the client's exit by a moment.
	if !testwait.Until(5*time.Second, func() bool { return strings.Contains(a.Logs(), debugLine) }) {
		t.Errorf("after SIGHUP with level debug in the file: no debug lines:\n%s", a.Logs())
	}

	if err := os.WriteFile(levelFile, []byte("error\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(levelFile, 0o666); err != nil {
		t.Fatal(err)
	}
	a.hangUp(t, "reload: log level not changed", 1)
	if !strings.Contains(a.Logs(), "chmod go-w") {
		t.Errorf("a world-writable level file: the error does not say how to fix it:\n%s", a.Logs())
	}
}
