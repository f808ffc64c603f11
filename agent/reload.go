package agent

import (
	"slices"
	"sync/atomic"

	"golang.org/x/crypto/ssh"
)

// Reload re-reads, on SIGHUP, what can change while the agent serves, as OpenSSH's sshd
// re-reads its configuration on SIGHUP, and drops no connection: a login in progress
// and every open session go on; logins from now on follow what was re-read.
//
//   - --trusted-user-ca files: read again; when one is missing or bad, the error is
//     logged and the CAs in force stay, so that a half-written file never locks out
//     everyone who logs in with a certificate.
//   - authorized_keys files (~/.ssh/authorized_keys and --authorized-keys): re-read at
//     every login when they change (keys.AuthorizedKeysFile.Keys); Reload reads them
//     now so that a problem (a refused file, a bad line) shows in the log at once.
//   - job hosts: the addresses resolved for hostname entries are forgotten and looked up
//     again at the next login from a job host. The host list itself comes from the
//     command line and the environment, which a running process cannot see change.
//
// Everything else (port, bind address, account, state directory, host keys,
// id_container, limits, forwarding, job trust's key) needs a restart.
func (s *Server) Reload() {
	s.reloadTrustedCAs()
	s.reloadAuthorizedKeys()
	if t := s.jobTrust; t != nil {
		t.ForgetAddresses()
		s.log.Info("reload: job hosts' addresses will be looked up again", "hosts", len(t.Hosts))
	}
}

// caSet is the --trusted-user-ca keys in force; a reload replaces them whole, while
// logins read them.
type caSet struct{ p atomic.Pointer[[]trustedCA] }

func (c *caSet) all() []trustedCA {
	if p := c.p.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *caSet) set(cas []trustedCA) { c.p.Store(&cas) }

func (s *Server) reloadTrustedCAs() {
	if len(s.cfg.TrustedUserCAFiles) == 0 {
		return
	}
	cas, err := loadTrustedCAs(s.cfg.TrustedUserCAFiles)
	if err != nil {
		s.log.Error("reload: trusted user CA files not reloaded; the CAs loaded before stay in force until the files are fixed and SIGHUP is sent again",
			"err", err, "cas", len(s.userCAs.all()))
		return
	}
	added, removed := caDifference(s.userCAs.all(), cas)
	s.userCAs.set(cas)
	if len(added) == 0 && len(removed) == 0 {
		s.log.Info("reload: trusted user CAs unchanged", "cas", len(cas))
		return
	}
	s.log.Info("reload: trusted user CAs changed", "cas", len(cas), "added", added, "removed", removed)
}

// caDifference lists the fingerprints of the CAs in new but not in old, and in old but
// not in new.
func caDifference(old, new []trustedCA) (added, removed []string) {
	fps := func(cas []trustedCA) []string {
		var out []string
		for _, ca := range cas {
			out = append(out, ssh.FingerprintSHA256(ca.key))
		}
		return out
	}
	oldFPs, newFPs := fps(old), fps(new)
	for _, fp := range newFPs {
		if !slices.Contains(oldFPs, fp) {
			added = append(added, fp)
		}
	}
	for _, fp := range oldFPs {
		if !slices.Contains(newFPs, fp) {
			removed = append(removed, fp)
		}
	}
	return added, removed
}

// reloadAuthorizedKeys reads every key source now (each logs its own problems) and
// logs how many keys each holds.
func (s *Server) reloadAuthorizedKeys() {
	names := append([]string{s.authorizedKeysPath}, s.cfg.AuthorizedKeysFiles...)
	for i, src := range s.keySources {
		name := InlineKeysVariable
		if i < len(names) {
			name = names[i]
		}
		ks, err := src.Keys()
		if err != nil {
			s.log.Warn("reload: authorized keys source not usable", "source", name, "err", err)
			continue
		}
		s.log.Info("reload: authorized keys (re-read at every login when changed)", "source", name, "keys", len(ks))
	}
}
