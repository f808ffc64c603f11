package agent

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

// rejectingKeySource is a key source that also reports the lines it could not use, in
// the same read as its keys (*keys.AuthorizedKeysFile, inlineKeys).
type rejectingKeySource interface {
	KeysAndRejected() ([]keys.AuthorizedKey, []*keys.LineError, error)
}

// restrictJobKeyByListedLine applies to g, the grant of a job key login from a job
// host, the options of the first authorized_keys line that lists the job key
// (restrictByListedLine). A key source that cannot be used (unreadable, or refused by
// StrictModes) refuses the job key too, since it may hold the restricting line (issue
// 10, item 19): the job key is one credential for every worker of the job, so it fails
// closed.
func (s *Server) restrictJobKeyByListedLine(g *grant, key ssh.PublicKey) error {
	return s.restrictByListedLine(g, key, "job key", true)
}

// restrictUserKeyByListedLine is the same rule for the id_container key, except that a
// key source that cannot be used does not refuse it: id_container is how the account
// gets in when its authorized_keys is broken (an image with a 0777 home never passes
// StrictModes), and refusing it then would lock the account out.
func (s *Server) restrictUserKeyByListedLine(g *grant, key ssh.PublicKey) error {
	return s.restrictByListedLine(g, key, "id_container key", false)
}

// restrictByListedLine is the one rule for the keys the agent trusts on its own
// authority (the job key: the job's hosts; id_container: the file in the home): the
// first authorized_keys line that lists the key restricts it (restrict, command=,
// no-pty, permitopen=, environment=, ...), as it would any key, while the line's from=
// and expiry-time= do not decide whether it may log in (the key's own authority does).
//
// A restriction that cannot be read must not turn into none (issue 10, item 19: a
// line made invalid by a bad from= let the job key in with a full shell, where an
// ordinary key on such a line is refused). So the key is refused when a rejected line
// names it or cannot be told not to (too long, cut off), and, with
// refuseUnusableSource, when a key source cannot be used.
func (s *Server) restrictByListedLine(g *grant, key ssh.PublicKey, what string, refuseUnusableSource bool) error {
	wire := key.Marshal()
	fp := ssh.FingerprintSHA256(key)
	var first *keys.AuthorizedKey
	for _, src := range s.keySources {
		var listed []keys.AuthorizedKey
		var rejected []*keys.LineError
		var err error
		if rs, ok := src.(rejectingKeySource); ok {
			listed, rejected, err = rs.KeysAndRejected()
		} else {
			listed, err = src.Keys()
		}
		if err != nil && refuseUnusableSource {
			return fmt.Errorf("%s %s refused: a key source that may restrict it cannot be used (%w); fix or remove it", what, fp, err)
		}
		for _, le := range rejected {
			if le.MayName(key) {
				return fmt.Errorf("%s %s refused: %s:%d, a line that may name it, is invalid (%v); fix the line, or remove it to lift its restrictions", what, fp, le.Source, le.Line, le.Err)
			}
		}
		if first != nil {
			continue // later sources are still read: a rejected line anywhere refuses
		}
		for i, ak := range listed {
			if !ak.Opts.CertAuthority && bytes.Equal(wire, ak.Key.Marshal()) {
				first = &listed[i]
				break
			}
		}
	}
	if first != nil {
		// g.source stays the key's own authority (the audit log's key_source); the
		// restricting line is named in the debug log.
		g.restrictByOptions(first.Opts)
		s.log.Debug("key restricted by its authorized_keys line", "key", fp, "line", fmt.Sprintf("%s:%d", first.Source, first.Line))
	}
	return nil
}
