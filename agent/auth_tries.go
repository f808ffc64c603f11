package agent

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

// authTries enforces --max-auth-tries (Config.MaxAuthTries) on one connection itself,
// with OpenSSH's rule (sshd_config(5) MaxAuthTries; auth2.c counts every failed
// request but a first "none"): after N refused attempts of any kind, no key is looked
// at or accepted on that connection.
//
// x/crypto's own count no longer holds that bound for clients that ask before they sign
// (OpenSSH, PuTTY and x/crypto's client offer each key as a query first, RFC 4252 §7).
// Since golang.org/x/crypto v0.59.0 (ssh/server.go, pubKeyQueryFailures) the first
// MaxAuthTries refused queries of a connection are not counted, "so that legitimate
// clients with multiple keys do not hit the limit": with --max-auth-tries 2, a client
// could offer 2 wrong keys and log in with a third, or have 4 wrong ones looked up
// (each a read of authorized_keys as the account) before being disconnected. A query
// also tells a stranger whether a public key, such as one a code host publishes for
// each of its users, may log in here; Dropbear bounds queries for that reason
// (mkj/dropbear#398).
//
// What a client sees: the N-th refused key is answered with an authentication banner
// (RFC 4252 §5.4; OpenSSH prints it on stderr unless LogLevel is below INFO) saying so.
// Every key offered after it is refused without being looked at, and x/crypto's count,
// kept at the same N, ends the connection with "too many authentication failures"
// (SSH_MSG_DISCONNECT reason 2) at most N refused queries later; a client that signs
// without asking first gets that disconnect at its N-th failure, as before v0.59.0.
type authTries struct {
	max      int
	failures int
	sawNone  bool // a first "none" attempt (every OpenSSH login starts with one) is free
}

// authTriesBanner is sent with the last refusal allowed.
const authTriesBanner = "too many authentication failures: no more keys are accepted on this connection\r\n"

// authTries returns a copy of base, for one connection, whose PublicKeyCallback and
// AuthLogCallback apply --max-auth-tries (x/crypto copies the config per connection
// too, in NewServerConn). base must have a PublicKeyCallback and no AuthLogCallback.
// The callbacks run one after the other, on the goroutine in NewServerConn, so the
// count needs no lock.
func (s *Server) authTries(base *ssh.ServerConfig) *ssh.ServerConfig {
	c := *base
	if s.cfg.MaxAuthTries <= 0 { // x/crypto's "no limit"
		return &c
	}
	t := &authTries{max: s.cfg.MaxAuthTries}
	examine := base.PublicKeyCallback
	c.PublicKeyCallback = func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if t.failures >= t.max {
			err := fmt.Errorf("too many authentication failures (--max-auth-tries %d): key %s not examined", t.max, keyFingerprint(key))
			s.logKeyRefused(meta, key, err)
			return nil, err
		}
		perms, err := examine(meta, key)
		if err != nil && t.failures+1 >= t.max {
			return nil, &ssh.BannerError{Err: err, Message: authTriesBanner}
		}
		return perms, err
	}
	c.AuthLogCallback = func(_ ssh.ConnMetadata, method string, err error) { t.attempted(method, err) }
	return &c
}

// attempted counts one finished authentication attempt: x/crypto calls AuthLogCallback
// for every attempt except a public-key query it answers with "yes".
func (t *authTries) attempted(method string, err error) {
	if err == nil {
		return
	}
	if method == "none" && t.failures == 0 && !t.sawNone {
		t.sawNone = true
		return
	}
	t.failures++
}
