package keys

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/asuser"
)

// UserKey describes the generated id_container keypair: the key users download from
// the container to log in with (see DESIGN.md, flow 1).
type UserKey struct {
	// PrivatePath is the OpenSSH private key (0600), PublicPath the same key as an
	// authorized_keys line (0644), PPKPath its PuTTY export (0600). PPKPath is empty
	// when the private key is passphrase-protected and there is no .ppk to report.
	PrivatePath, PublicPath, PPKPath string
	// Public is the key the agent accepts for the account.
	Public ssh.PublicKey
	// Created is true when this call generated the private key.
	Created bool
}

// EnsureUserKey makes sure the private key at path, its public half at path+".pub" and
// its PuTTY export at path+".ppk" exist and belong to uid:gid, and returns the public
// key. keyType is "ed25519" (also when empty) or "rsa" (RSA-3072) and only matters when
// a key has to be generated.
//
// An existing private key is kept, whatever its type, and never overwritten; the .pub
// and .ppk are made from it when missing (an existing one is left alone). When this
// call generates the private key, any .pub and .ppk left over from an earlier key are
// replaced, since they would not match it.
//
// path is usually in the account's home directory, which the account controls, while
// the agent runs as root. So the files are created with the account's filesystem
// identity (asuser.Do; the kernel checks every path component as for the account) and
// only ever with O_EXCL semantics or rename, never through a symlink: a symlink at any
// of the three paths is refused with an error. When the process is not root, uid must
// be its own.
func EnsureUserKey(path, keyType string, uid, gid int) (*UserKey, error) {
	if keyType == "" {
		keyType = KeyTypeEd25519
	}
	if keyType != KeyTypeEd25519 && keyType != KeyTypeRSA {
		return nil, fmt.Errorf("user key %q: key type %q: use %q or %q", path, keyType, KeyTypeEd25519, KeyTypeRSA)
	}
	var owner *fileOwner
	if os.Geteuid() == 0 {
		owner = &fileOwner{uid: uid, gid: gid}
	}
	uk := &UserKey{PrivatePath: path, PublicPath: path + ".pub", PPKPath: path + ".ppk"}
	err := asuser.Do(uid, gid, []int{gid}, func() error { return ensureUserKeyFiles(uk, keyType, uid, owner) })
	if err != nil {
		return nil, fmt.Errorf("user key %q: %w", path, err)
	}
	return uk, nil
}

// ensureUserKeyFiles does EnsureUserKey's work once the identity is the account's (uid).
func ensureUserKeyFiles(uk *UserKey, keyType string, uid int, owner *fileOwner) error {
	comment := keyComment("id_container")
	for _, p := range []string{uk.PrivatePath, uk.PublicPath, uk.PPKPath} {
		if err := refuseSymlink(p); err != nil {
			return err
		}
	}

	priv, pub, err := loadUserKey(uk.PrivatePath, uid)
	if errors.Is(err, fs.ErrNotExist) {
		priv, err = generateKey(keyType)
		if err != nil {
			return err
		}
		var data []byte
		if data, err = marshalOpenSSHPrivateKey(priv, comment); err != nil {
			return err
		}
		err = writeNewFile(uk.PrivatePath, data, 0o600, owner)
		if err == nil {
			uk.Created = true
			pub, err = ssh.NewPublicKey(priv.(crypto.Signer).Public())
		} else if errors.Is(err, fs.ErrExist) {
			// Created by someone else since loadUserKey looked (another agent
			// start, or a symlink planted meanwhile): treat it as existing.
			if err = refuseSymlink(uk.PrivatePath); err == nil {
				priv, pub, err = loadUserKey(uk.PrivatePath, uid)
			}
		}
	}
	if err != nil {
		return err
	}
	uk.Public = pub

	if err := ensureDerivedFile(uk.PublicPath, uk.Created, 0o644, owner, func() ([]byte, error) {
		return authorizedKeyLine(pub, comment), nil
	}); err != nil {
		return err
	}
	if priv == nil {
		// Passphrase-protected: the public half is in the file's clear part, the
		// private half is not available for a .ppk export.
		if _, err := os.Lstat(uk.PPKPath); err != nil {
			uk.PPKPath = ""
		}
		return nil
	}
	return ensureDerivedFile(uk.PPKPath, uk.Created, 0o600, owner, func() ([]byte, error) {
		return MarshalPPK(priv, comment)
	})
}

// loadUserKey parses the private key at path, which must belong to uid and be private
// to it (readPrivateFile). For a passphrase-protected key it returns a nil private key
// and the public key from the file's unencrypted part.
func loadUserKey(path string, uid int) (crypto.PrivateKey, ssh.PublicKey, error) {
	data, err := readPrivateFile(path, maxKeyFileSize, uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load existing key: %w", err)
	}
	priv, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) && missing.PublicKey != nil {
		return nil, missing.PublicKey, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load existing key %q: %w: move it away to have a new key generated", path, err)
	}
	if k, ok := priv.(*ed25519.PrivateKey); ok {
		priv = *k
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("load existing key %q: unsupported key type %T", path, priv)
	}
	pub, err := ssh.NewPublicKey(signer.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("load existing key %q: %w", path, err)
	}
	return priv, pub, nil
}

// ensureDerivedFile creates path from content's output when it is missing, or replaces it
// when replace is set (the private key it derives from is new).
func ensureDerivedFile(path string, replace bool, mode fs.FileMode, owner *fileOwner, content func() ([]byte, error)) error {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %q: %w", path, err)
		}
	}
	data, err := content()
	if err != nil {
		return err
	}
	if replace {
		return replaceFile(path, data, mode, owner)
	}
	err = writeNewFile(path, data, mode, owner)
	if errors.Is(err, fs.ErrExist) {
		return refuseSymlink(path) // someone created it meanwhile: keep theirs unless it is a symlink
	}
	return err
}

// refuseSymlink returns an error when path is a symlink (or another non-regular file):
// the agent writes these files as root into a directory the account controls and must
// not be pointed elsewhere. A missing path is fine.
func refuseSymlink(path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("check %q: %w", path, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%q is a symlink, which jobsshd refuses to follow: replace it with a regular file or remove it", path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%q is not a regular file (%s): remove it", path, st.Mode().Type())
	}
	return nil
}
