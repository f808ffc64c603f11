package keys

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// errDSAKey rejects an ssh-dss line. golang.org/x/crypto v0.59.0 removed DSA
// ("DSA is no longer supported": ssh.ParsePublicKey refuses the type), OpenSSH 9.8
// dropped it too, and the agent never accepted DSA signatures anyway (they are SHA-1
// only; algorithms.go). Such a line used to load and then never log in; now it is a
// rejected line that says why, instead of the generic errNotAKey.
var errDSAKey = errors.New("a DSA key (ssh-dss): DSA signs with SHA-1 only and is not supported; use an ed25519, ECDSA or RSA key")

// dsaBlobPrefix starts the wire form of a DSA public key or certificate: the SSH string
// "ssh-dss" (RFC 4253 §6.6) or "ssh-dss-cert-v01@openssh.com".
var dsaBlobPrefix = []byte("\x00\x00\x00\x07ssh-dss")

// namesDSAKey reports whether a line that did not parse holds a DSA key: a word
// "ssh-dss" (or its certificate type) followed by base64 whose blob says the same, so
// that a comment mentioning ssh-dss on an otherwise broken line does not count.
func namesDSAKey(line []byte) bool {
	words := bytes.Fields(line)
	for i := 0; i+1 < len(words); i++ {
		if !bytes.HasPrefix(words[i], []byte("ssh-dss")) {
			continue
		}
		blob := make([]byte, base64.StdEncoding.DecodedLen(len(words[i+1])))
		n, err := base64.StdEncoding.Decode(blob, words[i+1])
		if err == nil && bytes.HasPrefix(blob[:n], dsaBlobPrefix) {
			return true
		}
	}
	return false
}
