package jobtrust

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"golang.org/x/crypto/ssh"
)

// MinSecretLen is the shortest job secret accepted: 16 bytes (128 bits when random)
// keep the derived keys out of reach of guessing.
const MinSecretLen = 16

// The derivation (README "Distributed jobs"). Changing any of these strings changes
// every derived key, so workers of different jobsshd versions would no longer trust each
// other: a new scheme gets new strings ("... v2") instead.
//
//	seed_user = HKDF-SHA256(ikm = input, salt = derivationSalt, info = "jobsshd job user key v1", L = 32)
//	seed_host = HKDF-SHA256(ikm = input, salt = derivationSalt, info = "jobsshd job host key v1", L = 32)
//
// Each seed is an ed25519 private key seed (RFC 8032 §5.1.5). input is the job secret
// as given, or, for a job key file, the file's private key in PKCS #8 DER form (so the
// same key in PEM or OpenSSH format derives the same host key). The distinct info
// strings make the two keys independent: holding the user key (which is written into
// the user's ~/.ssh) reveals nothing about the host key.
const (
	derivationSalt = "jobsshd job trust salt v1"
	userKeyInfo    = "jobsshd job user key v1"
	hostKeyInfo    = "jobsshd job host key v1"
)

// Secret is a job secret. Its formatting methods never show the bytes, so a Config
// that holds one can be logged or printed without leaking it.
type Secret []byte

// Format prints a placeholder for every verb (%v, %s, %x, %q, ...).
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, "[job secret redacted]") }

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[job secret redacted]") }

// Identity is what the workers of one job share: the key they log in to each other
// with and the host key each of them serves.
type Identity struct {
	// UserKey is the job user key: a worker accepts it from the job's hosts only.
	UserKey ssh.Signer
	// UserKeyFile is UserKey's private key as a file for the OpenSSH client: an
	// OpenSSH private key for a derived key, the key file's bytes for a job key file.
	UserKeyFile []byte
	// HostKey is the ed25519 host key every worker of the job serves.
	HostKey ssh.Signer
	// Source says where the identity came from, for logs: "job secret" or the path of
	// the job key file. Never the secret itself.
	Source string
}

// FromSecret derives the job identity from a shared secret of at least MinSecretLen
// bytes: both keys are ed25519 keys seeded by HKDF (see the derivation above).
func FromSecret(secret Secret) (*Identity, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("job secret is %d bytes, need at least %d: use a random value, e.g. from `openssl rand -hex 32`", len(secret), MinSecretLen)
	}
	userPriv, userSigner, err := deriveKey(secret, userKeyInfo)
	if err != nil {
		return nil, err
	}
	_, hostSigner, err := deriveKey(secret, hostKeyInfo)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(userPriv, "jobsshd job key")
	if err != nil {
		return nil, fmt.Errorf("encode job user key: %w", err)
	}
	return &Identity{UserKey: userSigner, UserKeyFile: pem.EncodeToMemory(block), HostKey: hostSigner, Source: "job secret"}, nil
}

// FromKeyFile makes the job identity from a private key file every worker has (data is
// its content, path its name for messages): the file's key is the job user key, and the
// host key is derived from the key's private bytes. The key must not be
// passphrase-protected: the workers' ssh clients use it unattended.
func FromKeyFile(path string, data []byte) (*Identity, error) {
	raw, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("job key %q is passphrase-protected: use a key without a passphrase", path)
		}
		return nil, fmt.Errorf("job key %q: %w", path, err)
	}
	if k, ok := raw.(*ed25519.PrivateKey); ok {
		raw = *k // x509 takes the value form
	}
	der, err := x509.MarshalPKCS8PrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("job key %q: %w", path, err)
	}
	userSigner, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("job key %q: %w", path, err)
	}
	_, hostSigner, err := deriveKey(der, hostKeyInfo)
	if err != nil {
		return nil, err
	}
	return &Identity{UserKey: userSigner, UserKeyFile: data, HostKey: hostSigner, Source: path}, nil
}

// deriveKey is one ed25519 key from HKDF-SHA256 over input with the fixed salt and info.
func deriveKey(input []byte, info string) (ed25519.PrivateKey, ssh.Signer, error) {
	seed, err := hkdf.Key(sha256.New, input, []byte(derivationSalt), info, ed25519.SeedSize)
	if err != nil {
		return nil, nil, fmt.Errorf("derive %s: %w", info, err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("derive %s: %w", info, err)
	}
	return priv, signer, nil
}

// MaxKeyFileSize bounds a job key file read (ReadKeyFile, or ReadRootOnlyFile by the
// caller).
const MaxKeyFileSize = maxClientFileSize

// ReadKeyFile is FromKeyFile for the file at path, read with a size bound.
func ReadKeyFile(path string) (*Identity, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, fmt.Errorf("job key: %w", err)
	}
	return FromKeyFile(path, data)
}
