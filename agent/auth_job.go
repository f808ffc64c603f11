package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/account"
	"jobsshd/jobtrust"
)

// setupJobTrust turns job trust on when Config says so and the job's hosts and secret
// are known (see Config.DisableJobTrust). New calls it once the account and the
// container environment are known. A secret or key that is given but unusable is a
// configuration error; job hosts without any secret only leave job trust off.
func (s *Server) setupJobTrust() error {
	cfg := s.cfg
	d, err := decideJobTrust(cfg, s.environ, s.account, s.credential != nil)
	if d.hostsErr != nil {
		s.log.Warn("job trust: some job hosts from the environment are not usable", "err", d.hostsErr)
	}
	switch {
	case err != nil:
		return err
	case d.offErr != nil:
		s.log.Warn("job trust off: "+d.off, "err", d.offErr)
		return nil
	case d.identity == nil && len(d.hosts) > 0:
		s.log.Info("job trust off: "+d.off, "hosts", len(d.hosts))
		return nil
	case d.identity == nil: // disabled, or neither hosts nor a secret: nothing to say
		return nil
	case !d.on():
		s.log.Warn("job trust off: " + d.off)
		return nil
	}
	id, hosts := d.identity, d.hosts
	s.jobKeyFile = d.keyFile
	s.jobTrust = jobtrust.New(*id, hosts, cfg.JobResolver)
	if !s.cfg.StrictPort {
		// Every worker's ~/.ssh/config names this worker's port; a worker that fell
		// back to a random port would be unreachable from the others (or reach
		// whatever holds the port), so it fails to start instead, visibly.
		s.cfg.StrictPort = true
		s.log.Info("job trust: the port is strict (no fallback to a random port)", "port", s.cfg.Port)
	}
	s.log.Info("job trust on", "hosts", strings.Join(hosts, ","), "source", id.Source,
		"user_key", ssh.FingerprintSHA256(id.UserKey.PublicKey()), "host_key", ssh.FingerprintSHA256(id.HostKey.PublicKey()))
	return nil
}

// decideJobTrust works out, without changing anything, what cfg's job trust settings
// amount to for acct: the job's hosts (cfg.JobHosts, then the VC_*_HOSTS variables of
// environ), the job identity and why job trust stays off. root is whether the agent
// runs as root (see readJobKeyFile). The error is a *ConfigError: a secret or key that
// is given but unusable, or --job-hosts without any secret.
func decideJobTrust(cfg Config, environ []string, acct *account.Account, root bool) (jobTrustDecision, error) {
	var d jobTrustDecision
	if cfg.DisableJobTrust {
		return d, nil
	}
	envHosts, err := jobtrust.HostsFromEnv(environ)
	d.hostsErr = err
	d.hosts = jobtrust.MergeHosts(cfg.JobHosts, envHosts)
	if cfg.JobKeyFile != "" && cfg.JobSecret != nil {
		return d, &ConfigError{errors.New("job trust: both a job key file (--job-key) and a job secret (JOBSSHD_JOB_SECRET or --job-secret-file) are set: keep one")}
	}
	switch {
	case cfg.JobKeyFile != "":
		abs, err := filepath.Abs(cfg.JobKeyFile)
		if err == nil {
			d.identity, err = readJobKeyFile(abs, acct, root)
		}
		if err != nil {
			return d, &ConfigError{fmt.Errorf("job trust: %w: pass --job-key a private key file without a passphrase", err)}
		}
		d.keyFile = abs
	case cfg.JobSecret != nil:
		if d.identity, err = jobtrust.FromSecret(cfg.JobSecret); err != nil {
			return d, &ConfigError{fmt.Errorf("job trust: %w", err)}
		}
	case len(d.hosts) > 0:
		sshDir := filepath.Join(acct.Home, ".ssh")
		var path string
		var data []byte
		err := acct.Do(func() (err error) { path, data, err = jobtrust.VolcanoKey(sshDir); return err })
		if err == nil && path != "" {
			d.identity, err = jobtrust.FromKeyFile(path, data)
		}
		if err != nil {
			d.identity = nil
			d.off, d.offErr, d.offWarning = "cannot use the job key in ~/.ssh", err, true
			return d, nil
		}
		if path == "" {
			if len(cfg.JobHosts) > 0 {
				return d, &ConfigError{errors.New("job trust: --job-hosts is set but there is no job secret: set JOBSSHD_JOB_SECRET, --job-secret-file or --job-key (or --job-trust=false)")}
			}
			d.off = "job hosts are known but there is no job secret (set JOBSSHD_JOB_SECRET, --job-secret-file or --job-key)"
			return d, nil
		}
		d.keyFile = path
	default:
		d.off = "no job hosts are known and there is no job secret (a single-container job needs none)"
		return d, nil
	}
	if len(d.hosts) == 0 {
		d.off = "a job secret is set but no job hosts are known (set --job-hosts, or VC_WORKER_HOSTS in the container)"
		d.offWarning = true
	}
	return d, nil
}

// writeJobClientFiles writes, as the account, the ~/.ssh files that make `ssh <job host>`
// work (jobtrust.ClientFiles). Listen calls it once the port is known. A read-only
// ~/.ssh (Volcano mounts its Secret there) is not an error: the platform's own ssh
// config then applies.
func (s *Server) writeJobClientFiles() {
	t := s.jobTrust
	if t == nil {
		return
	}
	files := jobtrust.ClientFiles{
		SSHDir: filepath.Join(s.account.Home, ".ssh"), Hosts: t.Hosts, Port: s.Port(), User: s.account.Name,
		HostKey: t.HostKey.PublicKey(), KeyFile: s.jobKeyFile, KeyData: t.UserKeyFile,
	}
	var changed []string
	err := s.asAccount(func() (err error) { changed, err = files.Write(); return err })
	switch {
	case err != nil:
		s.log.Warn("job trust: cannot write the ssh client files; ssh between workers uses the existing ~/.ssh files as they are",
			"err", err, "written", changed)
	case len(changed) > 0:
		s.log.Info("job trust: wrote ssh client files", "files", strings.Join(changed, ","))
	}
}

// authorizeJobKey decides on the job user key: accepted from the job's hosts,
// refused from anywhere else, even when authorized_keys also lists it (Volcano's ssh
// plugin puts the job key there), since the job key is trusted only inside the job.
// matched is false for every other key (and when job trust is off): the caller then
// decides as usual.
func (s *Server) authorizeJobKey(meta ssh.ConnMetadata, key ssh.PublicKey) (g *grant, matched bool, err error) {
	t := s.jobTrust
	if t == nil || meta.User() != s.account.Name || !t.IsJobKey(key) {
		return nil, false, nil
	}
	fp := ssh.FingerprintSHA256(key)
	remote, perr := netip.ParseAddrPort(meta.RemoteAddr().String())
	if perr == nil {
		if host, ok := t.HostOf(context.Background(), remote.Addr()); ok {
			return &grant{fingerprint: fp, source: "job key, from job host " + host}, true, nil
		}
	}
	return nil, true, fmt.Errorf("job key %s from %s refused: that is not an address of this job's hosts (%s); the job key is trusted only inside the job",
		fp, meta.RemoteAddr(), hostSummary(t.Hosts))
}

// hostSummary names the first few hosts of a possibly long list, for messages.
func hostSummary(hosts []string) string {
	const shown = 4
	if len(hosts) <= shown {
		return strings.Join(hosts, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(hosts[:shown], ", "), len(hosts)-shown)
}

// readJobKeyFile reads --job-key. The key is copied into the account's ~/.ssh, so root
// reads it only where the account could not have put something else:
// jobtrust.ReadRootOnlyFile checks and reads the same objects (every directory and
// symlink on the way, and the file, are root's and not writable by group or others;
// a Kubernetes Secret mount's ..data links qualify). Anywhere else the file is read as
// the account, so a symlink the account planted to a root-only key reaches nothing
// (issue 10, item 1: `ln -s STATE_DIR/ssh_host_rsa_key ~/job.key` copied the host key
// into ~/.ssh/id_jobsshd_job while the check looked only at the link's target).
func readJobKeyFile(path string, acct *account.Account, root bool) (*jobtrust.Identity, error) {
	if !root {
		return jobtrust.ReadKeyFile(path)
	}
	data, err := jobtrust.ReadRootOnlyFile(path, jobtrust.MaxKeyFileSize)
	if err == nil {
		return jobtrust.FromKeyFile(path, data)
	}
	if !errors.Is(err, jobtrust.ErrNotRootOnly) {
		return nil, fmt.Errorf("job key: %w", err)
	}
	var id *jobtrust.Identity
	aerr := acct.Do(func() (err error) { id, err = jobtrust.ReadKeyFile(path); return err })
	if aerr != nil {
		return nil, fmt.Errorf("%w (read as %s, since %v; to have root read it, keep it and every directory and symlink above it root's and not writable by group or others)", aerr, acct.Name, err)
	}
	return id, nil
}
