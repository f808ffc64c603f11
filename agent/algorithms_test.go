package agent

import (
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestPublicKeyAuthAlgorithmsAllSupported: every signature algorithm the agent accepts
// from users is one x/crypto implements. Since golang.org/x/crypto v0.59.0 an unknown
// name in ServerConfig.PublicKeyAuthAlgorithms is dropped without a word (it used to
// fail every login with "unsupported public key authentication algorithm"), so a name
// x/crypto removes, as v0.59.0 removed ssh-dss, would silently stop keys of that kind
// from logging in; this test says so instead.
func TestPublicKeyAuthAlgorithmsAllSupported(t *testing.T) {
	t.Parallel()
	supported := ssh.SupportedAlgorithms().PublicKeyAuths
	for _, algo := range publicKeyAuthAlgorithms {
		if !slices.Contains(supported, algo) {
			t.Errorf("%s is in publicKeyAuthAlgorithms but x/crypto does not support it (supported: %v)", algo, supported)
		}
	}
}
