package agent

import (
	"os"

	"jobsshd/internal/account"
	"jobsshd/internal/environ"
	"jobsshd/jobtrust"
)

// CheckTrustedUserCAFiles checks the --trusted-user-ca files exactly as New loads them
// and returns how many CA keys they hold. Its error is the one New would refuse to
// start with (a missing or non-regular file, a line with options, a certificate or DSA
// key, a file without a key). It reads the files and changes nothing.
func CheckTrustedUserCAFiles(paths []string) (int, error) {
	cas, err := loadTrustedCAs(paths)
	return len(cas), err
}

// JobTrustCheck is what New would do with Config's job trust settings for an account
// (CheckJobTrust). It never holds the job secret or a private key.
type JobTrustCheck struct {
	// Disabled is Config.DisableJobTrust (--job-trust=false): nothing else is looked at.
	Disabled bool
	// On is true when job trust would be on: a job secret and at least one job host.
	On bool
	// Hosts are the job's hosts: Config.JobHosts, then those of the VC_*_HOSTS variables.
	Hosts []string
	// IgnoredHosts says which VC_*_HOSTS entries are skipped as unusable; nil when none.
	IgnoredHosts error
	// Source is where the job identity comes from: "job secret", or the path of the job
	// key file (--job-key, or Volcano's ~/.ssh/id_rsa); "" when there is none.
	Source string
	// Off, when neither On nor Disabled, says why job trust stays off; OffWarning is
	// true when the agent logs that as a warning (a secret or key is there but unusable
	// or without hosts) rather than as the normal state of a single-container job.
	Off        string
	OffWarning bool
}

// CheckJobTrust decides, as New does, whether job trust would be on for acct with cfg,
// and returns the *ConfigError New would refuse to start with. It reads the job key
// file and the account's ~/.ssh (as New does, with the account's identity where New
// uses it) and writes nothing. cfg.Environ nil means the agent's own environment merged
// over PID 1's, as in New.
func CheckJobTrust(cfg Config, acct *account.Account) (JobTrustCheck, error) {
	env := cfg.Environ
	if env == nil {
		env = environ.Container(os.Environ())
	} else {
		env = environ.Merge(env, nil)
	}
	d, err := decideJobTrust(cfg, env, acct, os.Geteuid() == 0)
	if err != nil {
		return JobTrustCheck{}, err
	}
	c := JobTrustCheck{Disabled: cfg.DisableJobTrust, On: d.on(), Hosts: d.hosts, IgnoredHosts: d.hostsErr,
		Off: d.off, OffWarning: d.offWarning}
	if d.identity != nil {
		c.Source = d.identity.Source
	}
	return c, nil
}

// jobTrustDecision is what the job trust settings amount to (decideJobTrust).
type jobTrustDecision struct {
	hosts      []string
	hostsErr   error              // VC_*_HOSTS entries skipped
	identity   *jobtrust.Identity // nil when there is no usable job secret
	keyFile    string             // the job key file, "" for a secret
	off        string             // why job trust is off, "" when on or disabled
	offErr     error              // the error behind off, if any
	offWarning bool               // off is worth a warning
}

// on reports whether job trust is on: an identity and hosts to accept it from.
func (d jobTrustDecision) on() bool { return d.identity != nil && len(d.hosts) > 0 }
