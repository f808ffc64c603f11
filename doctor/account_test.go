package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/agent"
	"jobsshd/internal/account"
)

func TestCheckShell(t *testing.T) {
	tests := []struct {
		name    string
		shell   func(t *testing.T, dir string) string
		wantSub string
		wantSev Severity
		wantFix string
	}{
		{name: "exists", shell: func(t *testing.T, dir string) string { return "/bin/sh" },
			wantSub: "may execute it", wantSev: OK},
		{name: "missing", shell: func(t *testing.T, dir string) string { return filepath.Join(dir, "nosuchshell") },
			wantSub: "does not exist", wantSev: Fail, wantFix: "usermod -s /bin/bash tester"},
		{name: "not executable", shell: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "sh")
			writeFile(t, p, []byte("#!/bin/sh\n"), 0o644)
			return p
		}, wantSub: "is not executable", wantSev: Fail, wantFix: "chmod a+x "},
		{name: "a directory", shell: func(t *testing.T, dir string) string { return dir },
			wantSub: "is not a regular file", wantSev: Fail, wantFix: "usermod -s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := selfAccount(t)
			a.Shell = tt.shell(t, t.TempDir())
			r := &Report{}
			checkShell(r, a)
			want(t, r, only(t, r, "login shell"), tt.wantSev, tt.wantFix)
			only(t, r, tt.wantSub)
		})
	}
}

func TestCheckIdentity(t *testing.T) {
	a := selfAccount(t)
	a.UID = 4242
	tests := []struct {
		name    string
		euid    int
		wantSev Severity
	}{
		{name: "root", euid: 0, wantSev: OK},
		{name: "the account itself", euid: 4242, wantSev: OK},
		{name: "another account", euid: 4343, wantSev: Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			checkIdentity(r, a, tt.euid)
			if len(r.Findings) != 1 || r.Findings[0].Severity != tt.wantSev {
				t.Errorf("got\n%s\nwant one %v finding", dump(r), tt.wantSev)
			}
		})
	}
}

// runFixture is the setting of the TestRun* tests, which cover the cross-check
// findings (which account, and whether there is any way in at all): an account for
// this process's own uid, and the Input for a user name and id_container path.
func runFixture(t *testing.T) (*account.Account, func(user, idFile string) Input) {
	a := selfAccount(t)
	lookup := func(name string) (*account.Account, error) {
		if name != a.Name {
			return nil, fmt.Errorf("user %q: %w", name, account.ErrNoAccount)
		}
		return a, nil
	}
	environ := filepath.Join(t.TempDir(), "environ")
	writeFile(t, environ, []byte("A=1\x00"), 0o600)
	input := func(user, idFile string) Input {
		return Input{
			Config: agent.Config{User: user, Port: 0, Bind: "127.0.0.1", StateDir: filepath.Join(t.TempDir(), "state"),
				IDFile: idFile, LookupAccount: lookup},
			UserGiven: true, EUID: os.Geteuid(), PID1Environ: environ,
		}
	}
	return a, input
}

func TestRunHealthy(t *testing.T) {
	a, input := runFixture(t)
	in := input(a.Name, "")
	r := Run(in)
	if r.Blocking() || r.Count(Warn) != 0 {
		t.Errorf("got\n%s\nwant no failure and no warning", dump(r))
	}
	want(t, r, only(t, r, "named by --user"), OK, "")
	// The diagnosis changes nothing: what serve would create is still missing.
	for _, p := range []string{in.Config.StateDir, filepath.Join(a.Home, "id_container"), filepath.Join(a.Home, ".ssh")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Run: got %v, want it still missing", p, err)
		}
	}
}

func TestRunNoSuchAccount(t *testing.T) {
	_, input := runFixture(t)
	r := Run(input("nobody-here", ""))
	want(t, r, only(t, r, `account "nobody-here"`), Fail, "useradd -m nobody-here")
}

func TestRunNoDefaultAccount(t *testing.T) {
	_, input := runFixture(t)
	in := input("", "")
	in.AccountErr = errors.New("neither work nor ma-user exists")
	r := Run(in)
	want(t, r, only(t, r, "no account to serve"), Fail, "--user NAME")
}

func TestRunNoWayIn(t *testing.T) {
	a, input := runFixture(t)
	r := Run(input(a.Name, filepath.Join(a.Home, "missing-dir", "id_container")))
	want(t, r, only(t, r, "no way to log in"), Fail, "authorized_keys")
}

func TestRunOtherWaysIn(t *testing.T) {
	a, input := runFixture(t)
	_, pub := newKey(t)
	caFile := filepath.Join(t.TempDir(), "ca.pub")
	writeFile(t, caFile, ssh.MarshalAuthorizedKey(pub), 0o644)
	noID := filepath.Join(a.Home, "missing-dir", "id_container")
	for name, set := range map[string]func(*agent.Config){
		"trusted CA":   func(c *agent.Config) { c.TrustedUserCAFiles = []string{caFile} },
		"inline key":   func(c *agent.Config) { c.AuthorizedKeys = string(ssh.MarshalAuthorizedKey(pub)) },
		"nothing else": func(c *agent.Config) {},
	} {
		in := input(a.Name, noID)
		set(&in.Config)
		r := Run(in)
		blocked := false
		for _, f := range r.Findings {
			blocked = blocked || strings.Contains(f.What, "no way to log in")
		}
		if blocked != (name == "nothing else") {
			t.Errorf("%s: \"no way to log in\" reported: %v; findings:\n%s", name, blocked, dump(r))
		}
	}
}

func TestRunServedByAnotherAccount(t *testing.T) {
	a, input := runFixture(t)
	in := input(a.Name, "")
	in.EUID = int(a.UID) + 1
	r := Run(in)
	want(t, r, only(t, r, "can serve only that account"), Fail, "run jobsshd as root")
	want(t, r, only(t, r, "are not checked"), Info, "")
	for _, f := range r.Findings {
		if strings.Contains(f.What, "authorized_keys") && f.Severity != Info {
			t.Errorf("got %v %q, want the account's files left unchecked", f.Severity, f.What)
		}
	}
}

func TestRunPID1EnvironUnreadable(t *testing.T) {
	a, input := runFixture(t)
	in := input(a.Name, "")
	in.EUID = 0 // the fix named below is root's; an ordinary user is told to run as root
	in.PID1Environ = filepath.Join(t.TempDir(), "missing")
	r := Run(in)
	want(t, r, only(t, r, "platform-injected variables"), Warn, "environment")
	if r.Blocking() {
		t.Errorf("got\n%s\nwant no failure", dump(r))
	}
}
