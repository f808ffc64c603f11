package keys

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// TrustedCA is a certificate authority whose user certificates may log in: a key of a
// --trusted-user-ca file (OpenSSH's TrustedUserCAKeys).
type TrustedCA struct {
	Key    ssh.PublicKey
	Source string // "path:line"
}

// maxCAFileSize bounds a --trusted-user-ca file: a few CA keys, never megabytes.
const maxCAFileSize = 1 << 20

// LoadTrustedCAs reads --trusted-user-ca files (OpenSSH's TrustedUserCAKeys) and
// returns their keys; it changes nothing. The agent calls it at start and on reload,
// `jobsshd doctor` to check them. They are the platform's
// configuration, so a missing file or a bad line is a configuration error rather than a
// line to skip: a platform that relies on certificates must not start without them.
func LoadTrustedCAs(paths []string) ([]TrustedCA, error) {
	var cas []TrustedCA
	for _, p := range paths {
		b, err := ReadRegularFileFollow(p, maxCAFileSize)
		if err != nil {
			return nil, fmt.Errorf("trusted user CA file: %w", err)
		}
		parsed, lineErrs := ParseAuthorizedKeys(bytes.NewReader(b), p)
		if len(lineErrs) > 0 {
			return nil, fmt.Errorf("trusted user CA file: %w (one public key per line, as in a .pub file)", lineErrs[0])
		}
		if len(parsed) == 0 {
			return nil, fmt.Errorf("trusted user CA file %q holds no public key", p)
		}
		for _, ak := range parsed {
			if len(ak.Options) > 0 {
				// TrustedUserCAKeys has no options; ignoring a from= here would trust
				// the CA from anywhere.
				return nil, fmt.Errorf("trusted user CA file %s:%d: options are not allowed here (restrict a CA with a cert-authority line in an authorized_keys file instead)", p, ak.Line)
			}
			if err := CheckCAKey(ak.Key); err != nil {
				return nil, fmt.Errorf("trusted user CA file %s:%d: %w", p, ak.Line, err)
			}
			cas = append(cas, TrustedCA{Key: ak.Key, Source: fmt.Sprintf("%s:%d", p, ak.Line)})
		}
	}
	return cas, nil
}

// CheckCAKey refuses keys that cannot be a certificate authority here: a certificate
// (CAs sign with plain keys). A DSA key, SHA-1 only, never gets this far: its line is
// rejected when parsed (errDSAKey, dsa_key_line.go).
func CheckCAKey(k ssh.PublicKey) error {
	if _, isCert := k.(*ssh.Certificate); isCert {
		return errors.New("a certificate, not a CA public key")
	}
	return nil
}
