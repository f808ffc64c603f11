package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Key types accepted by EnsureUserKey.
const (
	KeyTypeEd25519 = "ed25519"
	KeyTypeRSA     = "rsa"
)

// rsaBits is the size of generated RSA keys: 3072 bits is what ssh-keygen generates by
// default and what ssh-audit accepts without a warning.
const rsaBits = 3072

// maxKeyFileSize bounds how much of a private key file is read; a 16384-bit RSA key in
// OpenSSH format is under 13 KiB.
const maxKeyFileSize = 64 << 10

// generateKey returns a new private key of keyType ("ed25519" or "rsa").
func generateKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case KeyTypeEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ed25519 key: %w", err)
		}
		return priv, nil
	case KeyTypeRSA:
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generate rsa key: %w", err)
		}
		return priv, nil
	default:
		return nil, fmt.Errorf("key type %q: use %q or %q", keyType, KeyTypeEd25519, KeyTypeRSA)
	}
}

// marshalOpenSSHPrivateKey encodes key as an unencrypted "OPENSSH PRIVATE KEY" PEM
// block, the format ssh-keygen writes and every OpenSSH since 6.5 reads.
func marshalOpenSSHPrivateKey(key crypto.PrivateKey, comment string) ([]byte, error) {
	block, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// authorizedKeyLine is pub as one authorized_keys line ending in "\n", with comment.
func authorizedKeyLine(pub ssh.PublicKey, comment string) []byte {
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return []byte(line + "\n")
}

// keyComment is the comment for keys generated here: name@hostname, so a user with
// several containers' keys can tell them apart.
func keyComment(name string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		return name // the comment is cosmetic; a key without the hostname is still fine
	}
	return name + "@" + host
}
