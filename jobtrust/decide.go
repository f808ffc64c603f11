package jobtrust

import (
	"errors"
	"fmt"
	"path/filepath"

	"jobsshd/internal/account"
)

// Settings are the job trust settings of the agent's configuration (agent.Config's Job*
// fields and --job-trust).
type Settings struct {
	Disabled bool     // --job-trust=false: nothing else is looked at
	Hosts    []string // --job-hosts, before those of the VC_*_HOSTS variables
	KeyFile  string   // --job-key; "" means none
	Secret   Secret   // JOBSSHD_JOB_SECRET or --job-secret-file; nil means none
}

// Decision is what Settings amount to for an account (Decide). It holds the job
// identity, so it is never shown whole: Source names where the identity comes from.
type Decision struct {
	// Disabled is Settings.Disabled: nothing else is set.
	Disabled bool
	// Hosts are the job's hosts: Settings.Hosts, then those of the VC_*_HOSTS variables.
	Hosts []string
	// IgnoredHosts says which VC_*_HOSTS entries are skipped as unusable; nil when none.
	IgnoredHosts error
	// Identity is the job identity; nil when there is no usable job secret.
	Identity *Identity
	// KeyFile is the job key file the ssh client uses (--job-key, or Volcano's
	// ~/.ssh/id_rsa); "" for a secret.
	KeyFile string
	// Off, when neither On nor Disabled, says why job trust stays off; OffErr is the
	// error behind it, if any. OffWarning is true when that is worth a warning (a secret
	// or key is there but unusable or without hosts) rather than the normal state of a
	// single-container job.
	Off        string
	OffErr     error
	OffWarning bool
}

// On reports whether job trust is on: an identity and hosts to accept it from.
func (d Decision) On() bool { return d.Identity != nil && len(d.Hosts) > 0 }

// Source is where the job identity comes from: "job secret", or the path of the job key
// file; "" when there is none.
func (d Decision) Source() string {
	if d.Identity == nil {
		return ""
	}
	return d.Identity.Source
}

// Decide works out, without changing anything, what s amounts to for acct: the job's
// hosts (s.Hosts, then the VC_*_HOSTS variables of environ), the job identity and why
// job trust stays off. It reads the job key file and the account's ~/.ssh (as the
// account, or as root where ReadRootOnlyFile allows; root is whether the caller runs as
// root) and writes nothing. Its error is a configuration error the agent refuses to
// start with: a secret or key that is given but unusable, or --job-hosts without any
// secret.
func Decide(s Settings, environ []string, acct *account.Account, root bool) (Decision, error) {
	if s.Disabled {
		return Decision{Disabled: true}, nil
	}
	var d Decision
	envHosts, err := HostsFromEnv(environ)
	d.IgnoredHosts = err
	d.Hosts = MergeHosts(s.Hosts, envHosts)
	if s.KeyFile != "" && s.Secret != nil {
		return d, errors.New("job trust: both a job key file (--job-key) and a job secret (JOBSSHD_JOB_SECRET or --job-secret-file) are set: keep one")
	}
	switch {
	case s.KeyFile != "":
		abs, err := filepath.Abs(s.KeyFile)
		if err == nil {
			d.Identity, err = readJobKeyFile(abs, acct, root)
		}
		if err != nil {
			return d, fmt.Errorf("job trust: %w: pass --job-key a private key file without a passphrase", err)
		}
		d.KeyFile = abs
	case s.Secret != nil:
		if d.Identity, err = FromSecret(s.Secret); err != nil {
			return d, fmt.Errorf("job trust: %w", err)
		}
	case len(d.Hosts) > 0:
		return decideVolcano(d, len(s.Hosts) > 0, acct)
	default:
		d.Off = "no job hosts are known and there is no job secret (a single-container job needs none)"
		return d, nil
	}
	return withHosts(d), nil
}

// decideVolcano decides when job hosts are known but no secret is given: Volcano's ssh
// plugin key in the account's ~/.ssh, read as the account, is then the job secret.
// hostsGiven is whether --job-hosts is set, which makes a missing secret an error.
func decideVolcano(d Decision, hostsGiven bool, acct *account.Account) (Decision, error) {
	sshDir := filepath.Join(acct.Home, ".ssh")
	var path string
	var data []byte
	err := acct.Do(func() (err error) { path, data, err = VolcanoKey(sshDir); return err })
	if err == nil && path != "" {
		d.Identity, err = FromKeyFile(path, data)
	}
	if err != nil {
		d.Identity = nil
		d.Off, d.OffErr, d.OffWarning = "cannot use the job key in ~/.ssh", err, true
		return d, nil
	}
	if path == "" {
		if hostsGiven {
			return d, errors.New("job trust: --job-hosts is set but there is no job secret: set JOBSSHD_JOB_SECRET, --job-secret-file or --job-key (or --job-trust=false)")
		}
		d.Off = "job hosts are known but there is no job secret (set JOBSSHD_JOB_SECRET, --job-secret-file or --job-key)"
		return d, nil
	}
	d.KeyFile = path
	return withHosts(d), nil
}

// withHosts says why job trust stays off for an identity without hosts.
func withHosts(d Decision) Decision {
	if len(d.Hosts) == 0 {
		d.Off = "a job secret is set but no job hosts are known (set --job-hosts, or VC_WORKER_HOSTS in the container)"
		d.OffWarning = true
	}
	return d
}

// readJobKeyFile reads --job-key. The key is copied into the account's ~/.ssh, so root
// reads it only where the account could not have put something else:
// ReadRootOnlyFile checks and reads the same objects (every directory and symlink on the
// way, and the file, are root's and not writable by group or others; a Kubernetes
// Secret mount's ..data links qualify). Anywhere else the file is read as the account,
// so a symlink the account planted to a root-only key reaches nothing (issue 10, item
// 1: `ln -s STATE_DIR/ssh_host_rsa_key ~/job.key` copied the host key into
// ~/.ssh/id_jobsshd_job while the check looked only at the link's target).
func readJobKeyFile(path string, acct *account.Account, root bool) (*Identity, error) {
	if !root {
		return ReadKeyFile(path)
	}
	data, err := ReadRootOnlyFile(path, MaxKeyFileSize)
	if err == nil {
		return FromKeyFile(path, data)
	}
	if !errors.Is(err, ErrNotRootOnly) {
		return nil, fmt.Errorf("job key: %w", err)
	}
	var id *Identity
	aerr := acct.Do(func() (err error) { id, err = ReadKeyFile(path); return err })
	if aerr != nil {
		return nil, fmt.Errorf("%w (read as %s, since %v; to have root read it, keep it and every directory and symlink above it root's and not writable by group or others)", aerr, acct.Name, err)
	}
	return id, nil
}
