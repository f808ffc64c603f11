package agent

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/crypto/ssh"

	"jobsshd/keys"
)

var errNotServedUser = errors.New("not the served account")

// keySource is a list of authorized keys: the account's ~/.ssh/authorized_keys, a file
// the platform mounted (--authorized-keys) or keys passed inline
// (JOBSSHD_AUTHORIZED_KEYS). Keys is called at every login, so a file's changes apply
// at the next one.
type keySource interface {
	Keys() ([]keys.AuthorizedKey, error)
}

// inlineKeys is a key source parsed once, at start: its keys, and the lines that were
// not keys (for the rule of the keys the agent trusts itself, restrictByListedLine).
type inlineKeys struct {
	keys     []keys.AuthorizedKey
	rejected []*keys.LineError
}

func (k inlineKeys) Keys() ([]keys.AuthorizedKey, error) { return k.keys, nil }

func (k inlineKeys) KeysAndRejected() ([]keys.AuthorizedKey, []*keys.LineError, error) {
	return k.keys, k.rejected, nil
}

// authenticate is the PublicKeyCallback. It accepts, for the served account only, the
// id_container key, a key listed in one of the key sources (honouring the line's
// options: from=, expiry-time=, ...), or a user certificate signed by a trusted CA
// (--trusted-user-ca, or a cert-authority line). There is no other method: no
// password, no keyboard-interactive, no "none". Every decision is logged (auth.accept
// by serveConn, auth.reject here) with the key's fingerprint and the reason.
func (s *Server) authenticate(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	g, err := s.authorize(meta, key)
	if err != nil {
		s.logKeyRefused(meta, key, err)
		return nil, err
	}
	return g.permissions(), nil
}

// logKeyRefused logs the auth.reject event of a key refused for reason.
func (s *Server) logKeyRefused(meta ssh.ConnMetadata, key ssh.PublicKey, reason error) {
	s.limits.authReject.Log(s.log, slog.LevelInfo, "key refused", "event", "auth.reject", "remote", meta.RemoteAddr().String(),
		"user", clip(meta.User(), logNameMax), "key", keyFingerprint(key), "reason", clipErr(reason))
}

// authorize decides whether key may log in over the connection meta describes.
func (s *Server) authorize(meta ssh.ConnMetadata, key ssh.PublicKey) (*grant, error) {
	if g, matched, err := s.authorizeJobKey(meta, key); matched {
		if err == nil {
			err = s.restrictJobKeyByListedLine(g, key)
		}
		if err != nil {
			return nil, err
		}
		return g, nil
	}
	if meta.User() != s.account.Name {
		// Clipped here, not only in the log: x/crypto keeps this error for every attempt.
		return nil, fmt.Errorf("user %q: %w (only %q may log in here)", clip(meta.User(), logNameMax), errNotServedUser, s.account.Name)
	}
	from := remoteAddr(meta.RemoteAddr())
	if cert, ok := key.(*ssh.Certificate); ok {
		return s.authorizeCertificate(cert, from)
	}
	fp := ssh.FingerprintSHA256(key)
	wire := key.Marshal()
	if s.userKeyID != nil {
		// Read at every login (by file stamp): a removed id_container no longer logs
		// in, a new one does at once. A refusal was logged by Key; the key sources
		// below may still accept the key.
		if idKey, _ := s.userKeyID.Key(); idKey != nil && bytes.Equal(wire, idKey.Marshal()) {
			g := &grant{fingerprint: fp, source: s.userKeyID.Path()}
			if err := s.restrictUserKeyByListedLine(g, key); err != nil {
				return nil, err
			}
			return g, nil
		}
	}
	var refusals []error
	for _, src := range s.keySources {
		authorized, err := src.Keys()
		if err != nil {
			refusals = append(refusals, err)
		}
		for _, ak := range authorized {
			if ak.Opts.CertAuthority || !bytes.Equal(wire, ak.Key.Marshal()) {
				continue
			}
			if err := s.checkKeyLine(ak, from); err != nil {
				refusals = append(refusals, err)
				continue
			}
			return grantForKeyLine(fp, ak), nil
		}
	}
	if len(refusals) > 0 {
		return nil, fmt.Errorf("key %s not accepted: %w", fp, errors.Join(refusals...))
	}
	return nil, fmt.Errorf("key %s is not in %s or the id_container key", fp, s.keySourceNames())
}

// checkKeyLine applies the conditions of an authorized_keys line that decide whether it
// may be used at all: expiry-time= and from=.
func (s *Server) checkKeyLine(ak keys.AuthorizedKey, from netip.Addr) error {
	where := fmt.Sprintf("%s:%d", ak.Source, ak.Line)
	if ak.Opts.Expired(s.now()) {
		return fmt.Errorf("%s: the key expired at %s (expiry-time)", where, ak.Opts.ExpiryTime.Format("2006-01-02 15:04:05 MST"))
	}
	// No DNS lookups (OpenSSH's UseDNS no): only address patterns can match.
	if len(ak.Opts.From) > 0 && (!from.IsValid() || !ak.Opts.PermitsFrom(from, "")) {
		return fmt.Errorf("%s: source %s does not match from=%q", where, from, strings.Join(ak.Opts.From, ","))
	}
	return nil
}

// keySourceNames lists where keys are looked up, for the refusal message.
func (s *Server) keySourceNames() string { return strings.Join(s.keySourceList(), ", ") }

// keySourceList is where keys are looked up besides id_container, in order.
func (s *Server) keySourceList() []string {
	names := append([]string{s.authorizedKeysPath}, s.cfg.AuthorizedKeysFiles...)
	if s.cfg.AuthorizedKeys != "" {
		names = append(names, InlineKeysVariable)
	}
	return names
}

// keyFingerprint names a key for the log: a certificate by its own key's fingerprint.
func keyFingerprint(key ssh.PublicKey) string {
	if cert, ok := key.(*ssh.Certificate); ok {
		return ssh.FingerprintSHA256(cert.Key)
	}
	return ssh.FingerprintSHA256(key)
}

// remoteAddr is the client's IP address; IPv4-mapped IPv6 addresses are unmapped so
// that 10.0.0.0/8 matches a client on a dual-stack listener.
func remoteAddr(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
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
