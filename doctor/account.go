package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"jobsshd/agent"
	"jobsshd/internal/account"
)

// checkAccount reports which account serve would serve and why, and returns it, or nil
// when there is none.
func checkAccount(r *Report, in Input) *account.Account {
	if in.AccountErr != nil {
		r.fail("pass --user NAME (or set JOBSSHD_USER) with the account to serve",
			"no account to serve: %v", in.AccountErr)
		return nil
	}
	name := in.Config.User
	a, err := agent.LookupServed(in.Config)
	if err != nil {
		fix := fmt.Sprintf("create the account (useradd -m %s) or pass --user with an account of this container", name)
		var advised *account.AdvisedError
		if errors.As(err, &advised) {
			fix = "do what the error says"
		}
		r.fail(fix, "account %q: %v", name, err)
		return nil
	}
	r.ok("account %q (uid %d, gid %d, home %s, shell %s), %s", a.Name, a.UID, a.GID, a.Home, a.Shell,
		accountChoice(in))
	if a.Unlisted != "" {
		r.info("not in /etc/passwd, which jobsshd handles: %s", a.Unlisted)
	}
	if a.HomeNote != "" {
		r.info("home: %s", a.HomeNote)
	}
	return a
}

// accountChoice explains how serve picks the account, following account.DefaultName.
func accountChoice(in Input) string {
	switch {
	case in.UserGiven:
		return "named by --user or JOBSSHD_USER"
	case in.EUID != 0:
		return "the account jobsshd runs as (no --user given)"
	case in.Config.User == "work":
		return "the default as root: \"work\" exists (no --user given)"
	default:
		return fmt.Sprintf("the default as root: \"work\" does not exist, %q does (no --user given)", in.Config.User)
	}
}

// checkIdentity applies the agent's rule (agent.CredentialFor): root serves any
// account, anyone else only itself. It reports whether jobsshd may serve a.
func checkIdentity(r *Report, a *account.Account, euid int) bool {
	_, err := agent.CredentialFor(a, euid)
	switch {
	case err == nil && euid == 0:
		r.ok("jobsshd runs as root and can serve %q", a.Name)
		return true
	case err == nil:
		r.ok("jobsshd runs as %q itself (uid %d)", a.Name, euid)
		return true
	}
	fix := fmt.Sprintf("run jobsshd as root or as %q, or drop --user to serve the account it runs as", a.Name)
	if a.UID == 0 {
		fix = "run jobsshd as root, or drop --user to serve the account it runs as"
	}
	r.fail(fix, "%v: jobsshd will not start (exit 2)", err)
	return false
}

// checkShell checks that the account's login shell is a file the account may execute:
// shell sessions and exec requests run through it (SFTP and scp do not).
func checkShell(r *Report, a *account.Account) {
	var statErr, execErr error
	var fi fs.FileInfo
	err := a.Do(func() error {
		fi, statErr = os.Stat(a.Shell)
		if statErr == nil && fi.Mode().IsRegular() {
			execErr = accessible(a.Shell, 1)
		}
		return nil
	})
	fixShell := fmt.Sprintf("usermod -s /bin/bash %s (or install %s)", a.Name, a.Shell)
	switch {
	case err != nil:
		r.fail(fixShell, "login shell %s: check as %q: %v", a.Shell, a.Name, err)
	case errors.Is(statErr, fs.ErrNotExist):
		r.fail(fixShell, "login shell %s of %q does not exist: shell and command logins fail (SFTP still works)", a.Shell, a.Name)
	case statErr != nil:
		r.fail(fixShell, "login shell %s of %q: %v: shell and command logins fail (SFTP still works)", a.Shell, a.Name, statErr)
	case !fi.Mode().IsRegular():
		r.fail(fixShell, "login shell %s of %q is not a regular file (%s): shell and command logins fail", a.Shell, a.Name, fi.Mode().Type())
	case execErr != nil:
		r.fail(fmt.Sprintf("chmod a+x %s, or %s", a.Shell, fixShell),
			"login shell %s is not executable by %q: %v: shell and command logins fail", a.Shell, a.Name, execErr)
	default:
		r.ok("login shell %s exists and %q may execute it", a.Shell, a.Name)
	}
}

// checkHome checks that the home directory exists: sessions start in it (in / without
// it), and the default id_container and authorized_keys live there.
func checkHome(r *Report, a *account.Account) {
	fi, err := os.Stat(a.Home)
	switch {
	case err != nil:
		r.warn(fmt.Sprintf("mkdir -m 700 %s && chown %d:%d %s", a.Home, a.UID, a.GID, a.Home),
			"home directory of %q: %v: sessions start in /, and keys kept there cannot be used", a.Name, err)
	case !fi.IsDir():
		r.warn(fmt.Sprintf("replace %s with a directory owned by %s, or change the home with usermod -d", a.Home, a.Name),
			"home %s of %q is not a directory: sessions start in /", a.Home, a.Name)
	default:
		r.ok("home directory %s exists", a.Home)
	}
}
