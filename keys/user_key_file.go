package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/asuser"
)

// UserKeyFile is the id_container private key as logins see it: re-read whenever it
// changes, so that removing it revokes its key and generating a new one (ssh-keygen -f
// ~/id_container) rotates it, without a restart. Its methods are safe for concurrent
// use.
type UserKeyFile struct {
	path     string
	uid, gid int
	log      *slog.Logger
	now      func() time.Time // the clock, replaced by tests

	mu       sync.Mutex
	loaded   bool      // key holds the file as of stamp
	stamp    fileStamp // of the version key was read from
	key      ssh.PublicKey
	reported string // the state last logged, so that each state is logged once
}

// NewUserKeyFile returns the id_container private key at path of the account uid
// (primary group gid). Nothing is read until Key is called. A nil logger discards.
func NewUserKeyFile(path string, uid, gid int, logger *slog.Logger) *UserKeyFile {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &UserKeyFile{path: path, uid: uid, gid: gid, log: logger, now: time.Now}
}

// Path is the private key's path: the file that holds the key Key returns.
func (f *UserKeyFile) Path() string { return f.path }

// Key returns the public half of the private key at the path now; nil and no error
// when there is no file, which means there is no id_container key (it was removed).
//
// Every call opens the file as the account (as EnsureUserKey reads it), with O_NOFOLLOW
// and O_NONBLOCK, and checks what it opened with fstat: a regular file of the account's,
// not writable by group or others (userKeyCheck, EnsureUserKey's rule). It is read and parsed again only when its
// device, inode, size, mtime or ctime changed, as authorized_keys files are
// (AuthorizedKeysFile.Keys). A passphrase-protected key gives the public key of its
// clear part. A file that is refused or does not parse is no key and an error; each
// state is logged once (a missing file at info level, a refusal at warn).
func (f *UserKeyFile) Key() (ssh.PublicKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	var file *os.File
	err := asuser.Do(f.uid, f.gid, []int{f.gid}, func() error {
		var err error
		file, err = os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		f.forget()
		f.report(slog.LevelInfo, "missing", "id_container missing: no key logs in as id_container (jobsshd generates one at its next start)", "path", f.path)
		return nil, nil
	}
	if errors.Is(err, syscall.ELOOP) {
		err = fmt.Errorf("it is a symlink, which jobsshd does not follow here: replace it with the key file")
	}
	if err != nil {
		return nil, f.fail(fmt.Errorf("open id_container %q: %w", f.path, err))
	}
	defer file.Close() // read-only

	fi, err := file.Stat()
	if err != nil {
		return nil, f.fail(fmt.Errorf("stat id_container %q: %w", f.path, err))
	}
	stamp, ok := stampOf(fi)
	if f.loaded && ok && stamp == f.stamp {
		return f.key, nil
	}
	readAt := f.now()
	data, err := readOpened(file, f.path, maxKeyFileSize, userKeyCheck(f.path, f.uid))
	if err != nil {
		return nil, f.fail(fmt.Errorf("id_container: %w", err))
	}
	key, err := publicKeyOfPrivate(data)
	if err != nil {
		return nil, f.fail(fmt.Errorf("id_container %q: %w", f.path, err))
	}
	if f.key != nil && !bytes.Equal(f.key.Marshal(), key.Marshal()) {
		f.log.Info("id_container changed: only the new key logs in", "path", f.path,
			"old", ssh.FingerprintSHA256(f.key), "new", ssh.FingerprintSHA256(key))
	}
	// As for authorized_keys (see AuthorizedKeysFile.Keys): a file changed within the
	// last second is read again next time, since a same-size rewrite in the same clock
	// tick would keep its stamp.
	f.key, f.stamp, f.loaded = key, stamp, ok && stamp.settled(readAt)
	f.reported = ""
	return key, nil
}

// publicKeyOfPrivate is the public key of an OpenSSH (or PEM) private key file; for a
// passphrase-protected one, that of its unencrypted part.
func publicKeyOfPrivate(data []byte) (ssh.PublicKey, error) {
	signer, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && missing.PublicKey != nil:
		return missing.PublicKey, nil
	case err != nil:
		return nil, err
	}
	return signer.PublicKey(), nil
}

// fail forgets the key, logs err at warn unless it was the last thing logged, and
// returns it.
func (f *UserKeyFile) fail(err error) error {
	f.forget()
	f.report(slog.LevelWarn, err.Error(), "id_container refused: its key does not log in", "path", f.path, "err", err)
	return err
}

// forget drops the cached key, so the next good state is read afresh.
func (f *UserKeyFile) forget() {
	f.loaded, f.key, f.stamp = false, nil, fileStamp{}
}

// report logs msg unless state is what was logged last.
func (f *UserKeyFile) report(level slog.Level, state, msg string, args ...any) {
	if state == f.reported {
		return
	}
	f.reported = state
	f.log.Log(context.Background(), level, msg, args...)
}

// userKeyCheck is the rule for the opened id_container private key at path, shared by
// EnsureUserKey (start) and UserKeyFile (logins), so that both take the same file as
// the key or as no key. The file must belong to the account (uid) and must not be
// writable by group or others: whoever can write it chooses which key logs in as the
// account. A key that group or others can only read is accepted: that exposes the
// account's own key, which is the account's business (chmod 644 is a common mistake,
// and the copy a user downloads has its own mode on the laptop, which is what OpenSSH's
// client checks); EnsureUserKey reports it with the fix (UserKey.Exposed).
func userKeyCheck(path string, uid int) func(fs.FileInfo) error {
	return func(st fs.FileInfo) error {
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if int(sys.Uid) != uid {
			return fmt.Errorf("private key %q belongs to uid %d, not %d: chown %d %s, or rm %s and restart jobsshd to have a new key generated",
				path, sys.Uid, uid, uid, path, path)
		}
		if perm := st.Mode().Perm(); perm&0o022 != 0 {
			return fmt.Errorf("private key %q may be written by group or others (mode %04o), who could put their own key there: chmod 600 %s",
				path, perm, path)
		}
		return nil
	}
}

// exposedUserKey describes a private key at path that group or others may read (mode
// perm), with the fix; nil when they may not.
func exposedUserKey(path string, perm fs.FileMode) error {
	if perm&0o044 == 0 {
		return nil
	}
	return fmt.Errorf("private key %s may be read by group or others (mode %04o): its key still logs in, "+
		"but whoever else can read it can log in as the account too: chmod 600 %s", path, perm, path)
}
