package agent

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Extension keys under which authentication records, in ssh.Permissions, which key
// logged in and where it came from, for the login log line.
const (
	extKeyFingerprint = "jobsshd-key-fingerprint"
	extKeySource      = "jobsshd-key-source"
)

var errNotServedUser = errors.New("not the served account")

// authenticate is the PublicKeyCallback: it accepts key for the served account when it is
// the id_container key or a line of the account's authorized_keys (re-read when the file
// changed, so keys added while the agent runs work at the next login). There is no other
// method: no password, no keyboard-interactive, no "none".
func (s *Server) authenticate(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if perms, matched, err := s.authenticateJobKey(meta, key); matched {
		return perms, err
	}
	fp := ssh.FingerprintSHA256(key)
	if meta.User() != s.account.Name {
		return nil, fmt.Errorf("user %q: %w (only %q may log in here)", meta.User(), errNotServedUser, s.account.Name)
	}
	wire := key.Marshal()
	permit := func(source string) *ssh.Permissions {
		return &ssh.Permissions{Extensions: map[string]string{extKeyFingerprint: fp, extKeySource: source}}
	}
	if s.userKey != nil && bytes.Equal(wire, s.userKey.Public.Marshal()) {
		return permit(s.userKey.PrivatePath), nil
	}
	authorized, err := s.authorized.Keys()
	var restricted error
	for _, ak := range authorized {
		if !bytes.Equal(wire, ak.Key.Marshal()) {
			continue
		}
		if len(ak.Options) > 0 {
			// Options (from=, command=, restrict, no-port-forwarding, cert-authority, ...)
			// restrict a key; until they are enforced, honouring the line without them
			// would grant more than its author allowed.
			restricted = fmt.Errorf("key %s matches %s:%d, whose options %q jobsshd does not enforce yet: refused rather than allowed without them (remove the options to use the key)",
				fp, ak.Source, ak.Line, strings.Join(ak.Options, ","))
			continue
		}
		return permit(fmt.Sprintf("%s:%d", ak.Source, ak.Line)), nil
	}
	if restricted != nil {
		return nil, restricted
	}
	if err != nil {
		return nil, fmt.Errorf("key %s not accepted: %w", fp, err)
	}
	return nil, fmt.Errorf("key %s is not in %s or the id_container key", fp, s.authorizedKeysPath)
}

// refusalReason condenses an authentication failure for the log: the distinct reasons
// our callback gave, or x/crypto's own error (e.g. no key offered, handshake failed).
func refusalReason(err error) string {
	var authErr *ssh.ServerAuthError
	if !errors.As(err, &authErr) {
		return err.Error()
	}
	var reasons []string
	seen := map[string]bool{}
	for _, e := range authErr.Errors {
		if e == nil || errors.Is(e, ssh.ErrNoAuth) || seen[e.Error()] {
			continue
		}
		seen[e.Error()] = true
		reasons = append(reasons, e.Error())
	}
	if len(reasons) == 0 {
		return "no acceptable key offered (only public-key authentication is enabled)"
	}
	return fmt.Sprint(reasons)
}
