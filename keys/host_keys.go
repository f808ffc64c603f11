package keys

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// MaxKeyFileSize is how much of a key file jobsshd reads at most (a host key,
// id_container); `jobsshd doctor` reads them with the same bound.
const MaxKeyFileSize = maxKeyFileSize

// HostKeyFile is one host key file HostKeys keeps in the state directory.
type HostKeyFile struct {
	Name    string // the file's name in the state directory; the public half is Name+".pub"
	KeyType string // what a new key is created as: KeyTypeEd25519 or KeyTypeRSA
	SSHType string // the type an existing key must hold, e.g. ssh.KeyAlgoED25519
}

// HostKeyFiles are the host key files HostKeys keeps, in the order it returns the keys.
// `jobsshd doctor` checks the same list.
func HostKeyFiles() []HostKeyFile {
	return []HostKeyFile{
		{"ssh_host_ed25519_key", KeyTypeEd25519, ssh.KeyAlgoED25519},
		{"ssh_host_rsa_key", KeyTypeRSA, ssh.KeyAlgoRSA},
	}
}

// HostKeys returns the server's host keys from dir, ed25519 first and RSA second,
// creating each one that is missing, so that clients see the same host key on every
// start of the agent.
//
// The files are ssh_host_ed25519_key and ssh_host_rsa_key (RSA-3072), unencrypted
// OpenSSH private keys ("OPENSSH PRIVATE KEY", as ssh-keygen writes them). A missing
// key is created with mode 0600 atomically (temporary file, fsync, link), so a crash
// never leaves a half-written key; dir is created 0700 if it does not exist. An
// existing file that does not parse, or holds the wrong type of key, is an error naming
// the file: it is never silently replaced, since that would change the host key users
// have already accepted. Beside each key the public half is kept in <file>.pub (0644)
// for operators; it is rewritten when missing or stale.
//
// dir is the state directory as opened and checked (statedir.Open): every file is read
// and written through it, never through its path again.
func HostKeys(dir *os.Root) ([]ssh.Signer, error) {
	specs := HostKeyFiles()
	signers := make([]ssh.Signer, 0, len(specs))
	for _, spec := range specs {
		signer, err := CreateHostKey(dir, spec)
		if err != nil {
			return nil, err
		}
		signers = append(signers, signer)
	}
	return signers, nil
}

// CreateHostKey is one step of HostKeys: it loads the host key spec names in dir, or
// creates it when there is no file (GenerateHostKey, then StoreHostKey).
func CreateHostKey(dir *os.Root, spec HostKeyFile) (ssh.Signer, error) {
	signer, err := loadHostKey(dir, spec.Name, spec.SSHType)
	if errors.Is(err, fs.ErrNotExist) {
		var key crypto.Signer
		if key, err = GenerateHostKey(spec); err != nil {
			return nil, fmt.Errorf("create host key %q: %w", filepath.Join(dir.Name(), spec.Name), err)
		}
		return StoreHostKey(dir, spec, key)
	}
	if err != nil {
		return nil, err
	}
	if err := writeHostPublicKey(dir, spec.Name+".pub", signer.PublicKey()); err != nil {
		return nil, err
	}
	return signer, nil
}

// GenerateHostKey generates a new key of spec's type, in memory only.
func GenerateHostKey(spec HostKeyFile) (crypto.Signer, error) { return generateKey(spec.KeyType) }

// StoreHostKey writes key as spec's file in dir (0600, atomically, never replacing a
// file) and its .pub, and returns it as a signer. When the file is there by then,
// another jobsshd sharing the state directory created it first: that one is loaded and
// returned instead, so that both serve the key that is on disk.
func StoreHostKey(dir *os.Root, spec HostKeyFile, key crypto.Signer) (ssh.Signer, error) {
	path := filepath.Join(dir.Name(), spec.Name)
	data, err := marshalOpenSSHPrivateKey(key, keyComment("jobsshd"))
	if err != nil {
		return nil, fmt.Errorf("create host key %q: %w", path, err)
	}
	var signer ssh.Signer
	err = writeNewFile(dir, spec.Name, data, 0o600, nil)
	switch {
	case errors.Is(err, fs.ErrExist):
		signer, err = loadHostKey(dir, spec.Name, spec.SSHType)
	case err == nil:
		signer, err = ssh.NewSignerFromKey(key)
	}
	if err != nil {
		return nil, fmt.Errorf("create host key %q: %w", path, err)
	}
	if err := writeHostPublicKey(dir, spec.Name+".pub", signer.PublicKey()); err != nil {
		return nil, err
	}
	return signer, nil
}

// loadHostKey parses the host key name in dir; the error satisfies
// errors.Is(err, fs.ErrNotExist) only when there is no file at all.
func loadHostKey(dir *os.Root, name, sshType string) (ssh.Signer, error) {
	path := filepath.Join(dir.Name(), name)
	data, err := readFileIn(dir, name, maxKeyFileSize, privateFileCheck(path, os.Geteuid()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("load host key %q: %w", path, err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load host key %q: %w: move the file away (mv %s %s.bad) to have a new key generated",
			path, err, path, path)
	}
	if got := signer.PublicKey().Type(); got != sshType {
		return nil, fmt.Errorf("load host key %q: holds a %s key, want %s: move the file away (mv %s %s.bad) to have a new key generated",
			path, got, sshType, path, path)
	}
	return signer, nil
}

// writeHostPublicKey keeps name (the .pub beside a host key) in dir in step with pub.
// It is only for operators, so it is rewritten whenever it does not match.
func writeHostPublicKey(dir *os.Root, name string, pub ssh.PublicKey) error {
	want := authorizedKeyLine(pub, keyComment("jobsshd"))
	got, err := readFileIn(dir, name, maxKeyFileSize, nil)
	if err == nil && bytes.Equal(got, want) {
		return nil
	}
	if err == nil {
		// Same key under another hostname (the container moved) is not stale.
		if old, _, _, _, perr := ssh.ParseAuthorizedKey(got); perr == nil && bytes.Equal(old.Marshal(), pub.Marshal()) {
			return nil
		}
	}
	if err := replaceFile(dir, name, want, 0o644, nil); err != nil {
		return fmt.Errorf("write host public key: %w", err)
	}
	return nil
}
