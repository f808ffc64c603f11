package agent

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"jobsshd/jobtrust"
)

// startJobTrust turns job trust on when the plan's decision d says so (see
// Config.DisableJobTrust) and logs why it stays off otherwise. port is the plan's port
// policy, strict under job trust (PortPolicyFor).
func (s *Server) startJobTrust(d jobtrust.Decision, port PortPolicy) {
	if d.IgnoredHosts != nil {
		s.log.Warn("job trust: some job hosts from the environment are not usable", "err", d.IgnoredHosts)
	}
	switch {
	case d.OffErr != nil:
		s.log.Warn("job trust off: "+d.Off, "err", d.OffErr)
		return
	case d.Identity == nil && len(d.Hosts) > 0:
		s.log.Info("job trust off: "+d.Off, "hosts", len(d.Hosts))
		return
	case d.Identity == nil: // disabled, or neither hosts nor a secret: nothing to say
		return
	case !d.On():
		s.log.Warn("job trust off: " + d.Off)
		return
	}
	id, hosts := d.Identity, d.Hosts
	s.jobKeyFile = d.KeyFile
	s.jobTrust = jobtrust.New(*id, hosts, s.cfg.JobResolver)
	if port.StrictBy == strictByJobTrust {
		s.log.Info("job trust: the port is strict (no fallback to a random port)", "port", s.cfg.Port)
	}
	s.log.Info("job trust on", "hosts", strings.Join(hosts, ","), "source", id.Source,
		"user_key", ssh.FingerprintSHA256(id.UserKey.PublicKey()), "host_key", ssh.FingerprintSHA256(id.HostKey.PublicKey()))
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
