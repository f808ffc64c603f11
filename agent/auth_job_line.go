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
// host, the options of the first authorized_keys line that lists the job key: the job
// key is decided by the job's hosts, not by a line's from= or expiry-time=, but a line
// that restricts it (restrict, command=, no-pty, ...) still does.
//
// A restriction that cannot be read must not turn into none (issue 10, item 19: a
// line made invalid by a bad from= let the job key in with a full shell, where an
// ordinary key on such a line is refused). So the job key is refused when a key
// source cannot be read or fails StrictModes (it may hold the restricting line), or
// when a rejected line names the job key or cannot be told not to (too long, cut off).
func (s *Server) restrictJobKeyByListedLine(g *grant, key ssh.PublicKey) error {
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
		if err != nil {
			return fmt.Errorf("job key %s refused: a key source that may restrict it cannot be used (%w); fix or remove it", fp, err)
		}
		for _, le := range rejected {
			if le.MayName(key) {
				return fmt.Errorf("job key %s refused: %s:%d, a line that may name it, is invalid (%v); fix the line, or remove it to lift its restrictions", fp, le.Source, le.Line, le.Err)
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
		g.restrictByOptions(first.Opts)
		g.source += fmt.Sprintf(", restricted by %s:%d", first.Source, first.Line)
	}
	return nil
}
