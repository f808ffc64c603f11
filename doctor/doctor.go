package doctor

import (
	"os"

	"jobsshd/agent"
)

// Input is what to diagnose: the configuration `jobsshd serve` would run with.
type Input struct {
	// Config is the agent.Config serve would build from the same flags and JOBSSHD_*
	// variables. Config.User is "" when no account could be chosen (AccountErr says why).
	Config agent.Config
	// UserGiven is true when the account was named by --user or JOBSSHD_USER rather than
	// chosen by default; it only changes how the choice is explained.
	UserGiven bool
	// AccountErr is why no default account could be chosen, if so.
	AccountErr error
	// EUID is the effective uid serve would run as; a negative value means this
	// process's.
	EUID int
	// PID1Environ is the file sessions' platform variables come from; "" means
	// /proc/1/environ.
	PID1Environ string
}

// Run diagnoses in and returns the findings. It creates, changes and removes nothing;
// the only side effect is a moment's listen on the configured port. Files in the
// account's home are opened with the account's identity, as the agent opens them.
func Run(in Input) *Report {
	if in.EUID < 0 {
		in.EUID = os.Geteuid()
	}
	if in.Config.LookupAccount == nil {
		in.Config.LookupAccount = agent.LookupAccount
	}
	if in.PID1Environ == "" {
		in.PID1Environ = "/proc/1/environ"
	}
	r := &Report{}
	acct := checkAccount(r, in)
	if acct != nil {
		canServe := checkIdentity(r, acct, in.EUID)
		checkHome(r, acct)
		if canServe {
			checkAccountFiles(r, acct, in.Config.IDFile)
		} else {
			// The account's files can only be read as the account, which needs root.
			r.info("the shell, authorized_keys and id_container of %q are not checked: run jobsshd doctor as root or as %q", acct.Name, acct.Name)
		}
	}
	checkPort(r, in.Config.Bind, in.Config.Port, in.Config.StrictPort)
	checkStateDir(r, in.Config.StateDir, in.EUID)
	checkPID1Environ(r, in.PID1Environ, in.EUID)
	return r
}

// checkAccountFiles checks what a login reads as the account: the shell, the keys it may
// log in with, and that there is at least one way in.
func checkAccountFiles(r *Report, a *account, idFile string) {
	checkShell(r, a)
	usableKeys := checkAuthorizedKeys(r, a)
	idUsable := checkUserKey(r, a, idFile)
	if usableKeys == 0 && !idUsable {
		r.fail("fix the id_container findings above, or add a public key to "+authorizedKeysPath(a),
			"no way to log in as %q: authorized_keys holds no usable key and id_container cannot be used", a.Name)
	}
}
