package keys

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/asuser"
)

// UserKey describes the generated id_container keypair: the key users download from
// the container to log in with when they bring no key of their own (README "Connecting").
type UserKey struct {
	// PrivatePath is the OpenSSH private key (0600), PublicPath the same key as an
	// authorized_keys line (0644), PPKPath its PuTTY export (0600). PPKPath is empty
	// when there is no .ppk to report: the private key is passphrase-protected, or the
	// file was skipped (see Skipped).
	PrivatePath, PublicPath, PPKPath string
	// Public is the key as of the start; nil when Unavailable is set. Logins read the
	// private key again (UserKeyFile), so this is what start-up reports, nothing more.
	Public ssh.PublicKey
	// Created is true when this call generated the private key.
	Created bool
	// Unavailable is why there is no id_container at all: there was no private key and
	// none could be created (a read-only home, a home the account cannot write), or
	// what is at the path is no key jobsshd uses (a symlink, a FIFO or other special
	// file, a file that does not parse, is not the account's, or that group or others
	// can write), which is left exactly as it is. The agent serves anyway: keys from
	// authorized_keys still log in. It names the fix.
	Unavailable error
	// Exposed, when not nil, says (with the fix) that group or others may read the
	// private key. Its key logs in all the same (see userKeyCheck for why).
	Exposed error
	// Skipped lists, each with its fix, the files derived from the private key (.pub,
	// .ppk) that were left as they are: something other than a regular file is there,
	// or it could not be written. They never stop the agent: only the private key
	// decides whether id_container logs in.
	Skipped []error
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
// Nothing the account puts in its home, and no read-only home, makes this fail, so
// that the account cannot keep the agent from serving (issue 10, items 10 and 14): a
// private key that does not exist and cannot be created, or that jobsshd refuses (a
// symlink or special file at path, a key that is not the account's, that group or
// others can write, or that does not parse) is UserKey.Unavailable, and a problem with
// a derived file is in UserKey.Skipped. A refused private key is never written,
// replaced or followed. Only a bad keyType, or failing to take the account's identity
// or to generate a key, is an error.
//
// path is usually in the account's home directory, which the account controls, while
// the agent runs as root. So the files are created with the account's filesystem
// identity (asuser.Do; the kernel checks every path component as for the account),
// through the directory as opened, and only ever with O_EXCL semantics or rename, never
// through a symlink. When the process is not root, uid must be its own.
func EnsureUserKey(path, keyType string, uid, gid int) (*UserKey, error) {
	if keyType == "" {
		keyType = KeyTypeEd25519
	}
	if keyType != KeyTypeEd25519 && keyType != KeyTypeRSA {
		return nil, fmt.Errorf("user key %q: key type %q: use %q or %q", path, keyType, KeyTypeEd25519, KeyTypeRSA)
	}
	var owner *fileOwner
	if os.Geteuid() == 0 {
		owner = &fileOwner{UID: uid, GID: gid}
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
	if err := refusePrivateKeyEntry(uk.PrivatePath); err != nil {
		uk.refuse(err)
		return nil
	}
	priv, pub, err := uk.load(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return createUserKey(uk, keyType, uid, owner)
	}
	if err != nil {
		uk.refuse(err)
		return nil
	}
	uk.Public = pub
	dir, err := os.OpenRoot(filepath.Dir(uk.PrivatePath))
	if err != nil {
		uk.skip(uk.PublicPath, fmt.Errorf("open its directory: %w", err))
		uk.skip(uk.PPKPath, fmt.Errorf("open its directory: %w", err))
		uk.PPKPath = ""
		return nil
	}
	defer dir.Close() // read-only handle
	uk.ensureDerivedFiles(dir, priv, pub, comment, owner)
	return nil
}

// createUserKey generates the private key, which does not exist, and its derived files.
// When it cannot be written, there is no id_container (uk.Unavailable), which is no
// error: the agent serves the other keys.
func createUserKey(uk *UserKey, keyType string, uid int, owner *fileOwner) error {
	comment := keyComment("id_container")
	priv, err := generateKey(keyType)
	if err != nil {
		return err
	}
	data, err := marshalOpenSSHPrivateKey(priv, comment)
	if err != nil {
		return err
	}
	dirPath := filepath.Dir(uk.PrivatePath)
	dir, err := os.OpenRoot(dirPath)
	if err == nil {
		defer dir.Close() // read-only handle
		err = writeNewFile(dir, filepath.Base(uk.PrivatePath), data, 0o600, owner)
	}
	if errors.Is(err, fs.ErrExist) {
		// Created by someone else since loadUserKey looked (another agent start, or
		// something planted meanwhile): treat it as existing.
		if err := refusePrivateKeyEntry(uk.PrivatePath); err != nil {
			uk.refuse(err)
			return nil
		}
		existing, pub, err := uk.load(uid)
		if err != nil {
			uk.refuse(err)
			return nil
		}
		uk.Public = pub
		uk.ensureDerivedFiles(dir, existing, pub, comment, owner)
		return nil
	}
	if err != nil {
		uk.Unavailable = fmt.Errorf("create %s: %w: logins with keys from authorized_keys still work; "+
			"to have id_container, make %s writable by uid %d (not a read-only mount), or pass --id-file with a path it can write",
			uk.PrivatePath, unwrapPathError(err), dirPath, uid)
		uk.PublicPath, uk.PPKPath = "", ""
		return nil
	}
	uk.Created = true
	if uk.Public, err = ssh.NewPublicKey(priv.(crypto.Signer).Public()); err != nil {
		return err
	}
	uk.ensureDerivedFiles(dir, priv, uk.Public, comment, owner)
	return nil
}

// ensureDerivedFiles makes the .pub and .ppk beside the private key (see
// ensureDerivedFile); a problem is recorded in uk.Skipped, never returned.
func (uk *UserKey) ensureDerivedFiles(dir *os.Root, priv crypto.PrivateKey, pub ssh.PublicKey, comment string, owner *fileOwner) {
	if err := ensureDerivedFile(dir, uk.PublicPath, uk.Created, 0o644, owner, func() ([]byte, error) {
		return authorizedKeyLine(pub, comment), nil
	}); err != nil {
		uk.skip(uk.PublicPath, err)
	}
	if priv == nil {
		// Passphrase-protected: the public half is in the file's clear part, the
		// private half is not available for a .ppk export.
		if fi, err := dir.Lstat(filepath.Base(uk.PPKPath)); err != nil || !fi.Mode().IsRegular() {
			uk.PPKPath = ""
		}
		return
	}
	if err := ensureDerivedFile(dir, uk.PPKPath, uk.Created, 0o600, owner, func() ([]byte, error) {
		return MarshalPPK(priv, comment)
	}); err != nil {
		uk.skip(uk.PPKPath, err)
		uk.PPKPath = ""
	}
}

// skip records that the derived file path was left as it is, and the fix.
func (uk *UserKey) skip(path string, err error) {
	uk.Skipped = append(uk.Skipped, fmt.Errorf("%s left as it is (logins with id_container are not affected): %w; "+
		"restart jobsshd after rm %s to have it written again from %s", path, err, path, uk.PrivatePath))
}

// unwrapPathError drops the *fs.PathError around err, whose path the caller names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// refuse records that the private key at uk.PrivatePath is no key the agent uses
// (err says why and how to fix it): there is no id_container, and no derived file is
// written from it.
func (uk *UserKey) refuse(err error) {
	uk.Unavailable = fmt.Errorf("%w (jobsshd left it as it is; logins with keys from authorized_keys still work)", err)
	uk.Public, uk.Exposed = nil, nil
	uk.PublicPath, uk.PPKPath = "", ""
}

// refusePrivateKeyEntry is refuseSymlink for the private key, with the fix for it.
func refusePrivateKeyEntry(path string) error {
	if err := refuseSymlink(path); err != nil {
		return fmt.Errorf("private key: %w; or rm %s and restart jobsshd to have a new key generated", err, path)
	}
	return nil
}

// load reads the private key at uk.PrivatePath (loadUserKey) and notes in uk.Exposed
// when group or others may read it.
func (uk *UserKey) load(uid int) (crypto.PrivateKey, ssh.PublicKey, error) {
	var perm fs.FileMode
	priv, pub, err := loadUserKey(uk.PrivatePath, uid, func(fi fs.FileInfo) { perm = fi.Mode().Perm() })
	if err == nil {
		uk.Exposed = exposedUserKey(uk.PrivatePath, perm)
	}
	return priv, pub, err
}

// loadUserKey parses the private key at path, which must pass userKeyCheck; opened,
// when not nil, is shown the opened file once it passed. For a passphrase-protected
// key it returns a nil private key and the public key from the file's unencrypted part.
func loadUserKey(path string, uid int, opened func(fs.FileInfo)) (crypto.PrivateKey, ssh.PublicKey, error) {
	check := userKeyCheck(path, uid)
	data, err := readFileChecked(path, maxKeyFileSize, func(fi fs.FileInfo) error {
		if err := check(fi); err != nil {
			return err
		}
		if opened != nil {
			opened(fi)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, nil, fmt.Errorf("load existing key: %w: chown %d %s && chmod 600 %s, or rm %s and restart jobsshd to have a new key generated",
			err, uid, path, path, path)
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
		return nil, nil, fmt.Errorf("load existing key %q: %w: mv %s %s.bad and restart jobsshd to have a new key generated", path, err, path, path)
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

// ensureDerivedFile creates path (in dir) from content's output when it is missing, or
// replaces it when replace is set (the private key it derives from is new). Something
// other than a regular file at path is an error when it is to be kept: a symlink is
// never followed, and rename replaces the entry itself when it is to be replaced.
func ensureDerivedFile(dir *os.Root, path string, replace bool, mode fs.FileMode, owner *fileOwner, content func() ([]byte, error)) error {
	name := filepath.Base(path)
	if !replace {
		if _, err := dir.Lstat(name); err == nil {
			return refuseSymlink(path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %q: %w", path, err)
		}
	}
	data, err := content()
	if err != nil {
		return err
	}
	if replace {
		return replaceFile(dir, name, data, mode, owner)
	}
	err = writeNewFile(dir, name, data, mode, owner)
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
		return fmt.Errorf("%q is not a regular file (%s): remove it", path, fileKind(st.Mode()))
	}
	return nil
}
