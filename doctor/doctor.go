package doctor

import (
	"os"
	"strings"

	"jobsshd/agent"
	"jobsshd/internal/account"
	"jobsshd/internal/environ"
	"jobsshd/jobtrust"
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
	// JobSecretSource names where Config.JobSecret came from ("JOBSSHD_JOB_SECRET",
	// "--job-secret-file PATH"), for the report; "" means it is not said.
	JobSecretSource string
}

// Run diagnoses in and returns the findings. It creates, changes and removes nothing;
// the only side effect is a moment's listen on the configured port. Files in the
// account's home are opened with the account's identity, as the agent opens them. Every
// rule the agent applies at start is the agent's own: its resolution steps (agent.Plan)
// and port policy, the host key list of package keys, the CA loader, jobtrust.Decide.
func Run(in Input) *Report {
	if in.EUID < 0 {
		in.EUID = os.Geteuid()
	}
	if in.Config.LookupAccount == nil {
		in.Config.LookupAccount = account.Lookup
	}
	if in.PID1Environ == "" {
		in.PID1Environ = environ.PID1Path
	}
	r := &Report{}
	if err := agent.CheckSettings(in.Config); err != nil {
		fix := "pass --key-type ed25519 or rsa"
		if in.Config.StateDir == "" {
			fix = "pass --state-dir DIR"
		}
		r.fail(fix, "%v: jobsshd will not start (exit 2)", err)
	}
	acct := checkAccount(r, in)
	canServe := false
	if acct != nil {
		canServe = checkIdentity(r, acct, in.EUID)
		checkHome(r, acct)
	}
	// The agent reads the CA files as itself at start, whatever the account.
	cas := checkTrustedUserCAs(r, in.Config.TrustedUserCAFiles)
	var jobTrust jobtrust.Decision
	switch {
	case canServe:
		checkAccountFiles(r, acct, in.Config, cas)
		jobTrust = checkJobTrust(r, in.Config, acct, in.EUID, in.JobSecretSource)
	case acct != nil:
		// The account's files can only be read as the account, which needs root.
		r.info("the shell, key files, id_container and job trust of %q are not checked: run jobsshd doctor as root or as %q", acct.Name, acct.Name)
	}
	checkPort(r, agent.PortPolicyFor(in.Config, jobTrust))
	checkStateDir(r, in.Config.StateDir, in.EUID)
	checkPID1Environ(r, in.PID1Environ, in.EUID)
	if in.AccountErr == nil && canServe {
		checkPlan(r, in)
	}
	return r
}

// checkPlan resolves the configuration as serve does (agent.Resolve, which changes
// nothing): a configuration error serve refuses to start with (exit 2) that no check
// above reported is reported here, with the very error serve prints.
func checkPlan(r *Report, in Input) {
	_, err := agent.Resolve(in.Config, in.EUID)
	if err == nil {
		return
	}
	for _, f := range r.Findings {
		if f.Severity == Fail && strings.Contains(f.What, err.Error()) {
			return // reported by its own check
		}
	}
	r.fail("correct the setting the error names", "%v: jobsshd will not start (exit 2)", err)
}

// checkAccountFiles checks what a login reads as the account: the shell, the keys it may
// log in with from every key source, and that there is at least one way in (a usable
// key, a trusted CA, or id_container).
func checkAccountFiles(r *Report, a *account.Account, cfg agent.Config, cas int) {
	checkShell(r, a)
	checkSelfExe(r, a)
	usableKeys := checkAuthorizedKeys(r, a)
	usableKeys += checkKeyFiles(r, a, cfg.AuthorizedKeysFiles)
	usableKeys += checkInlineKeys(r, cfg.AuthorizedKeys)
	idUsable := checkUserKey(r, a, agent.IDFileFor(cfg, a))
	if usableKeys == 0 && cas == 0 && !idUsable {
		r.fail("fix the id_container findings above, or add a public key to "+authorizedKeysPath(a),
			"no way to log in as %q: no key source holds a usable key, no CA is trusted and id_container cannot be used", a.Name)
	}
}
