package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// reloadTimeout bounds how long a change to authorized_keys may take to apply.
const reloadTimeout = 5 * time.Second

func TestAuthWrongKeyRefused(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := a.SSH(t, sshCall{Key: newClientKey(t, "stranger"), Command: "echo in"})
	if res.ExitCode != 255 || !strings.Contains(res.Stderr, "Permission denied") || res.Stdout != "" {
		t.Errorf("unknown key: got %s, want exit 255 with \"Permission denied\"", res)
	}
	a.Run(t, "true") // the right key still works
}

// TestAuthWrongUserRefused: the id_container key is valid for the served account only.
func TestAuthWrongUserRefused(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	other := testAccount(t, "jobtest-other")
	for _, user := range []string{"root", "nobody", other.Name, "no-such-user-jobsshd"} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			res := a.SSH(t, sshCall{User: user, Command: "echo in"})
			if res.ExitCode != 255 || !strings.Contains(res.Stderr, "Permission denied") || res.Stdout != "" {
				t.Errorf("login as %s with the served account's key: got %s, want exit 255 with \"Permission denied\"", user, res)
			}
		})
	}
}

// TestAuthOnlyPublicKeyOffered: OpenSSH is told publickey is the only method that can
// continue (the paramiko test checks the same with auth_none).
func TestAuthOnlyPublicKeyOffered(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	res := a.SSH(t, sshCall{
		Opts:    []string{"-v", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive"},
		Command: "echo in",
	})
	if res.ExitCode != 255 || res.Stdout != "" {
		t.Errorf("without a key: got exit %d, stdout %q; want exit 255", res.ExitCode, res.Stdout)
	}
	methods := regexp.MustCompile(`Authentications that can continue: (\S+)`).FindAllStringSubmatch(res.Stderr, -1)
	if len(methods) == 0 {
		t.Fatalf("ssh -v never printed the server's methods; stderr:\n%s", res.Stderr)
	}
	for _, m := range methods {
		if m[1] != "publickey" {
			t.Errorf("server offers %q, want only publickey", m[1])
		}
	}
}

// TestAuthLockedPasswordLogsIn: useradd leaves "!" in /etc/shadow; OpenSSH with UsePAM=no
// refuses such accounts even for keys, jobsshd must not.
func TestAuthLockedPasswordLogsIn(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	shadow, err := os.ReadFile("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	var field string
	for _, line := range strings.Split(string(shadow), "\n") {
		if f := strings.Split(line, ":"); len(f) > 1 && f[0] == a.Account.Name {
			field = f[1]
		}
	}
	if !strings.HasPrefix(field, "!") {
		t.Fatalf("/etc/shadow password of %s is %q, want a locked one (\"!...\") as useradd leaves it", a.Account.Name, field)
	}
	if got := a.Run(t, "echo in"); got != "in\n" {
		t.Errorf("got %q, want %q", got, "in\n")
	}
}

// writeAuthorizedKeys replaces acct's ~/.ssh with a fresh one holding lines, owned by
// the account, with OpenSSH's usual modes (.ssh 0700, authorized_keys 0600).
func writeAuthorizedKeys(t *testing.T, acct account, lines ...string) string {
	t.Helper()
	dir := filepath.Join(acct.Home, ".ssh")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(acct.Home, 0o755); err != nil { // an earlier failed run may have left it open
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, path} {
		if err := os.Chown(p, acct.UID, acct.GID); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func pub(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// loginState polls until logging in with key succeeds (want true) or is refused (want
// false), bounded by reloadTimeout; it reports whether that state was reached.
func loginState(t *testing.T, a *agent, key string, want bool) bool {
	t.Helper()
	return testwait.Until(reloadTimeout, func() bool {
		res := a.SSH(t, sshCall{Key: key, Command: "echo in"})
		return (res.ExitCode == 0 && res.Stdout == "in\n") == want
	})
}

func TestAuthorizedKeysHotReload(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, "jobtest-ak-reload")
	keyA, keyB := newClientKey(t, "a"), newClientKey(t, "b")
	path := writeAuthorizedKeys(t, acct, pub(t, keyA))
	// A real authorized_keys is old by the time someone edits it. An agent may rightly
	// avoid caching a file changed within the last second (mtime granularity, as git's
	// "racy index"); let the file age past that, or a reload bug would go unnoticed.
	time.Sleep(1500 * time.Millisecond)
	a := startAgent(t, agentOptions{User: acct.Name})

	if res := a.SSH(t, sshCall{Key: keyA, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Fatalf("key A from authorized_keys: got %s, want exit 0 and \"in\\n\"", res)
	}
	if res := a.SSH(t, sshCall{Key: keyB, Command: "echo in"}); res.ExitCode != 255 {
		t.Fatalf("key B, not yet in authorized_keys: got %s, want exit 255", res)
	}
	appendLine(t, path, pub(t, keyB))
	if !loginState(t, a, keyB, true) {
		t.Errorf("key B appended to %s: still refused after %v without a restart", path, reloadTimeout)
	}
	if err := os.WriteFile(path, []byte(pub(t, keyB)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !loginState(t, a, keyA, false) {
		t.Errorf("key A removed from %s: still accepted after %v", path, reloadTimeout)
	}
	a.Run(t, "true") // id_container is accepted whatever authorized_keys says
}

// TestAuthorizedKeysStrictModes: authorized_keys is ignored while it or a directory above
// it is writable by others or owned by someone else, and trusted again once fixed.
func TestAuthorizedKeysStrictModes(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, "jobtest-ak-modes")
	key := newClientKey(t, "user-key")
	path := writeAuthorizedKeys(t, acct, pub(t, key))
	sshDir := filepath.Dir(path)
	a := startAgent(t, agentOptions{User: acct.Name})
	nobody := testAccountLookup(t, "nobody")

	chmod := func(p string, mode os.FileMode) func(*testing.T) {
		return func(t *testing.T) {
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	chown := func(p string, uid, gid int) func(*testing.T) {
		return func(t *testing.T) {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name           string
		damage, repair func(*testing.T)
	}{
		{name: "authorized_keys world-writable", damage: chmod(path, 0o666), repair: chmod(path, 0o600)},
		{name: "authorized_keys group-writable", damage: chmod(path, 0o620), repair: chmod(path, 0o600)},
		{name: ".ssh world-writable", damage: chmod(sshDir, 0o777), repair: chmod(sshDir, 0o700)},
		{name: ".ssh group-writable", damage: chmod(sshDir, 0o770), repair: chmod(sshDir, 0o700)},
		{name: "home world-writable", damage: chmod(acct.Home, 0o777), repair: chmod(acct.Home, 0o755)},
		{name: "authorized_keys owned by another user", damage: chown(path, nobody.UID, nobody.GID), repair: chown(path, acct.UID, acct.GID)},
	}
	// Sequential: the cases share one account's ~/.ssh.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !loginState(t, a, key, true) {
				t.Fatalf("precondition: key not accepted with safe modes")
			}
			logStart := len(a.Logs())
			tt.damage(t)
			refused := loginState(t, a, key, false)
			tt.repair(t) // restore before anything can stop the subtest
			if !refused {
				t.Errorf("key still accepted %v after: %s", reloadTimeout, tt.name)
				return
			}
			// The agent's stderr reaches the buffer through a pipe, a moment later.
			if !testwait.Until(2*time.Second, func() bool { return mentionsRefusal(a.Logs()[logStart:], path) }) {
				t.Errorf("no log line says why %s was refused (want the path and the reason)", path)
			}
			if !loginState(t, a, key, true) {
				t.Errorf("key still refused %v after the modes were fixed", reloadTimeout)
			}
		})
	}
}

// mentionsRefusal reports whether logs have a line naming path (or its directory) and a
// reason in words a person would use.
func mentionsRefusal(logs, path string) bool {
	reasons := regexp.MustCompile(`(?i)writable|permission|mode|owner|owned|insecure|unsafe|strict`)
	for _, line := range strings.Split(logs, "\n") {
		if (strings.Contains(line, path) || strings.Contains(line, filepath.Dir(path))) && reasons.MatchString(line) {
			return true
		}
	}
	return false
}

// TestAuthorizedKeysSSHDir0755: the common 0755 .ssh (and 0644 authorized_keys) is fine.
func TestAuthorizedKeysSSHDir0755(t *testing.T) {
	t.Parallel()
	acct := testAccount(t, "jobtest-ak-dir")
	key := newClientKey(t, "user-key")
	path := writeAuthorizedKeys(t, acct, pub(t, key))
	for p, mode := range map[string]os.FileMode{filepath.Dir(path): 0o755, path: 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	a := startAgent(t, agentOptions{User: acct.Name})
	if res := a.SSH(t, sshCall{Key: key, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf(".ssh 0755, authorized_keys 0644: got %s, want exit 0 and \"in\\n\"", res)
	}
}

// TestAuthorizedKeysBadLines: lines the parser rejects are skipped; the keys before and
// after them still log in.
func TestAuthorizedKeysBadLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, account string
		bad           []string
	}{
		{name: "malformed", account: "jobtest-ak-bad", bad: []string{
			"# a comment",
			"",
			"this is not a key",
			"ssh-ed25519 AAAA!!!not-base64 broken",
			"ssh-ed25519",
			"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBadTypeMismatch mismatched",
			`no-such-option ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x`,
			"\t   ",
		}},
		{name: "overlong line", account: "jobtest-ak-long", bad: []string{
			"ssh-ed25519 " + strings.Repeat("A", 256<<10) + " overlong",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct := testAccount(t, tt.account)
			before, after := newClientKey(t, "before"), newClientKey(t, "after")
			lines := append([]string{pub(t, before)}, tt.bad...)
			writeAuthorizedKeys(t, acct, append(lines, pub(t, after))...)
			a := startAgent(t, agentOptions{User: acct.Name})
			for name, key := range map[string]string{"key before the bad lines": before, "key after the bad lines": after} {
				if res := a.SSH(t, sshCall{Key: key, Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
					t.Errorf("%s: got %s, want exit 0 and \"in\\n\"", name, res)
				}
			}
		})
	}
}
