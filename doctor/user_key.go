package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/account"
	"jobsshd/internal/asuser"
	"jobsshd/keys"
)

// checkUserKey checks the generated key, id_container, as keys.EnsureUserKey would find
// it at start: a private key that is not a regular file of the account's, that group or
// others can write, or that does not parse is left as it is and means no id_container
// (a warning: the agent serves the other keys); one group or others can read logs in,
// with a warning; a symlink or special file at the .pub or .ppk is only skipped, and a
// key it cannot create only means no id_container. It
// reports whether the key can be used to log in (it exists and is fine, or
// can be created). Everything is looked at with the account's identity and primary
// group, as EnsureUserKey does.
func checkUserKey(r *Report, a *account.Account, idFile string) bool {
	var usable bool
	err := asuser.Do(int(a.UID), int(a.GID), []int{int(a.GID)}, func() error {
		k := checkPrivateKey(r, a, idFile)
		pubOK := checkDerivedFile(r, idFile+".pub", k.exists, func(data []byte) error {
			return matchesPublicKey(data, k.pub)
		})
		var ppkOK bool
		if k.encrypted {
			ppkOK = refuseNonRegular(r, idFile+".ppk")
		} else {
			ppkOK = checkDerivedFile(r, idFile+".ppk", k.exists, nil)
		}
		usable = k.usable && pubOK && ppkOK
		return nil
	})
	if err != nil {
		r.fail("run jobsshd doctor as root or as "+a.Name, "id_container %s: cannot check as %q: %v", idFile, a.Name, err)
		return false
	}
	return usable
}

// privateKeyState is what checkPrivateKey found.
type privateKeyState struct {
	pub       ssh.PublicKey // nil when there is no key yet or it could not be read
	exists    bool          // there is a file at the path
	usable    bool          // the key exists and is fine, or the agent can create it
	encrypted bool          // passphrase-protected: the agent makes no .ppk from it
}

// checkPrivateKey checks the private key at path.
func checkPrivateKey(r *Report, a *account.Account, path string) privateKeyState {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if err := accessible(dir, 2|1); err != nil {
			// As keys.EnsureUserKey: no id_container, but the agent serves the other keys.
			r.warn(fmt.Sprintf("to have id_container, make %s writable by %s (mkdir -p %s && chown %d:%d %s; not a read-only mount), or pass --id-file with a path %s can write",
				dir, a.Name, dir, a.UID, a.GID, dir, a.Name),
				"%s does not exist and %q cannot create it: directory %s: %v: jobsshd starts without id_container (status.json says id_file_missing); keys from authorized_keys still log in",
				path, a.Name, dir, err)
			return privateKeyState{}
		}
		r.info("%s does not exist: jobsshd creates it (with .pub and .ppk) at start", path)
		return privateKeyState{usable: true}
	}
	// What keys.EnsureUserKey refuses below is no id_container, never a failed start:
	// it is left as it is and the agent serves the other keys (issue 10 review, files 1).
	if err != nil {
		refused(r, fmt.Sprintf("let %s reach %s, or pass --id-file", a.Name, path), "id_container %s: %v", path, err)
		return privateKeyState{}
	}
	if msg, fix := notRegular(path, fi); msg != "" {
		refused(r, fix+" and restart jobsshd to have a new key generated", "id_container %s %s", path, msg)
		return privateKeyState{exists: true}
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != a.UID {
		refused(r, fmt.Sprintf("chown %d:%d %s, or remove it and restart jobsshd to have a new key generated", a.UID, a.GID, path),
			"id_container %s belongs to uid %d, not to %q (uid %d)", path, st.Uid, a.Name, a.UID)
		return privateKeyState{exists: true}
	}
	perm := fi.Mode().Perm()
	if perm&0o022 != 0 {
		refused(r, "chmod 600 "+path,
			"id_container %s may be written by group or others (mode %04o), who could put their own key there", path, perm)
		return privateKeyState{exists: true}
	}
	if perm&0o044 != 0 {
		// keys.UserKey.Exposed: the key still logs in.
		r.warn("chmod 600 "+path,
			"id_container %s may be read by group or others (mode %04o): its key logs in, but whoever else can read it can log in as %q too", path, perm, a.Name)
	}
	data, err := readKeyFile(path)
	if err != nil {
		refused(r, fmt.Sprintf("make %s a regular file %s can read (chmod 600 %s)", path, a.Name, path), "id_container %s: %v", path, err)
		return privateKeyState{exists: true}
	}
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && missing.PublicKey != nil:
		r.ok("id_container %s is passphrase-protected (%s %s): its key logs in; no .ppk is made from it",
			path, missing.PublicKey.Type(), ssh.FingerprintSHA256(missing.PublicKey))
		return privateKeyState{pub: missing.PublicKey, exists: true, usable: true, encrypted: true}
	case err != nil:
		refused(r, fmt.Sprintf("move it away (mv %s %s.bad) and restart jobsshd to have a new key generated", path, path),
			"id_container %s does not parse: %v", path, err)
		return privateKeyState{exists: true}
	}
	pub := signer.PublicKey()
	if perm&0o044 != 0 {
		r.ok("id_container %s (%s %s) logs in", path, pub.Type(), ssh.FingerprintSHA256(pub))
	} else {
		r.ok("id_container %s (%s %s), owner and mode %04o fine", path, pub.Type(), ssh.FingerprintSHA256(pub), perm)
	}
	return privateKeyState{pub: pub, exists: true, usable: true}
}

// refused reports a private key that keys.EnsureUserKey leaves as it is and does not
// use: a warning, since the agent starts without id_container and serves the other keys.
func refused(r *Report, fix, format string, args ...any) {
	r.warn(fix, format+": jobsshd leaves it as it is and starts without id_container (status.json says id_file_missing); keys from authorized_keys still log in", args...)
}

// checkDerivedFile checks a file the agent derives from the private key (.pub, .ppk):
// a symlink or special file there is skipped (a warning), never fatal; a missing one is created, and one
// left beside a private key that does not exist yet is replaced. match, when not nil,
// checks that the file's content belongs to the private key. It reports whether the
// agent will start as far as this file is concerned.
func checkDerivedFile(r *Report, path string, privateExists bool, match func([]byte) error) bool {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if privateExists { // else the private key's finding already says so
			r.info("%s does not exist: jobsshd creates it at start", path)
		}
		return true
	case err != nil:
		r.fail("let the account reach "+path, "%s: %v: jobsshd will not start", path, err)
		return false
	}
	if msg, fix := notRegular(path, fi); msg != "" {
		if privateExists {
			// keys.EnsureUserKey skips it (logged); only the private key decides.
			r.warn(fix, "%s %s: jobsshd leaves it as it is and starts; id_container logs in", path, msg)
		} else {
			r.info("%s %s: jobsshd replaces it (without following it) when it creates the private key", path, msg)
		}
		return true
	}
	if !privateExists {
		r.info("%s is left from an earlier key: jobsshd replaces it when it creates the private key", path)
		return true
	}
	if match != nil {
		data, err := readKeyFile(path)
		if err == nil {
			err = match(data)
		}
		if err != nil {
			r.warn(fmt.Sprintf("rm %s: jobsshd writes it again from the private key at start", path),
				"%s: %v: whoever copies it gets a key that does not log in", path, err)
			return true
		}
	}
	r.ok("%s present", path)
	return true
}

// refuseNonRegular warns when something other than a regular file is at path (the .ppk
// beside a passphrase-protected key): the agent skips it. It reports true: the file
// never stops the agent.
func refuseNonRegular(r *Report, path string) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return true // missing; anything else surfaces when the private key is checked
	}
	if msg, fix := notRegular(path, fi); msg != "" {
		r.warn(fix, "%s %s: jobsshd leaves it as it is and starts; id_container logs in", path, msg)
	}
	return true
}

// matchesPublicKey checks that data, an authorized_keys line, holds pub.
func matchesPublicKey(data []byte, pub ssh.PublicKey) error {
	if pub == nil {
		return nil
	}
	got, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return fmt.Errorf("not a public key: %w", err)
	}
	if !bytes.Equal(got.Marshal(), pub.Marshal()) {
		return fmt.Errorf("holds %s, not the private key's %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(pub))
	}
	return nil
}

// notRegular describes why the agent refuses fi at path (a symlink, which it never
// follows where it writes as root, or a special file) and the fix; "" when fi is a
// regular file.
func notRegular(path string, fi fs.FileInfo) (msg, fix string) {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return "is a symlink, which jobsshd refuses to follow", fmt.Sprintf("replace it with a regular file or remove it (rm %s)", path)
	case !fi.Mode().IsRegular():
		return fmt.Sprintf("is not a regular file (%s)", fi.Mode().Type()), fmt.Sprintf("remove it (rm %s)", path)
	}
	return "", ""
}

// readKeyFile reads a key file as the agent does: never through a symlink, never
// blocking on a FIFO, at most keys.MaxKeyFileSize bytes.
func readKeyFile(path string) ([]byte, error) {
	return keys.ReadRegularFile(path, keys.MaxKeyFileSize)
}
