package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"jobsshd/internal/asuser"
)

// AuthorizedKeysFile is one account's authorized_keys file, re-read whenever it
// changes. Its methods are safe for concurrent use.
type AuthorizedKeysFile struct {
	path string
	uid  int
	gids []int
	home string
	log  *slog.Logger
	now  func() time.Time // the clock, replaced by tests

	mu       sync.Mutex
	loaded   bool      // keys hold the file as of stamp
	stamp    fileStamp // of the version keys were read from
	keys     []AuthorizedKey
	rejected []*LineError // the lines of that version that were not keys
	reported string       // the state last logged, so that each state is logged once
}

// NewAuthorizedKeysFile returns the authorized_keys file at path for the account uid,
// whose groups are gids (primary group first) and whose home directory is home; see
// CheckStrictModes. Nothing is read until Keys is called. A nil logger discards.
func NewAuthorizedKeysFile(path string, uid int, gids []int, home string, logger *slog.Logger) *AuthorizedKeysFile {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &AuthorizedKeysFile{path: path, uid: uid, gids: slices.Clone(gids), home: home, log: logger, now: time.Now}
}

// Keys returns the keys the file holds now. Callers may not modify the AuthorizedKey
// values' Options slices, which are shared between calls.
//
// Every call opens and fstats the file and applies CheckStrictModes; the file is read
// and parsed again only when its device, inode, size, mtime or ctime changed. So a key
// appended while the agent runs works at the next login, and a chmod that makes the
// file or one of its directories unsafe takes effect at once (directory modes are not
// part of the file's ctime, hence the check on every call: a few stat calls).
//
// A missing file is no keys and no error. A file refused by StrictModes is no keys and
// an error wrapping ErrStrictModes. Problems are logged once per change of state: the
// missing file at debug level, a refusal at warn, and each rejected line (with source
// and line number, never content) at warn each time the file is re-read.
//
// The file is opened as the account (as sshd opens it) and with O_NONBLOCK, so a FIFO
// planted in its place cannot hang the agent; it must be a regular file, and is read
// only up to ParseAuthorizedKeys' limit. A file the account cannot open is no keys and
// the open error.
func (f *AuthorizedKeysFile) Keys() ([]AuthorizedKey, error) {
	keys, _, err := f.KeysAndRejected()
	return keys, err
}

// KeysAndRejected is Keys, and also the lines of the same version of the file that
// were rejected (see LineError.MayName), which callers must not modify.
func (f *AuthorizedKeysFile) KeysAndRejected() ([]AuthorizedKey, []*LineError, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	file, fi, err := f.openChecked()
	if err != nil {
		return nil, nil, f.fail(err)
	}
	if file == nil {
		f.forget()
		f.report(slog.LevelDebug, "missing", "no authorized_keys file; only the generated key can log in", "path", f.path)
		return nil, nil, nil
	}
	defer file.Close() // read-only: nothing to lose on close

	stamp, ok := stampOf(fi)
	if !f.loaded || !ok || stamp != f.stamp {
		readAt := f.now()
		keys, lineErrs := ParseAuthorizedKeys(file, f.path)
		for _, le := range lineErrs {
			f.log.Warn("authorized_keys line ignored", "source", le.Source, "line", le.Line, "err", le.Err)
		}
		// File timestamps come from a coarse clock (a few ms), so a same-size
		// rewrite right after this read could leave the stamp unchanged. As in
		// git's "racy index" handling, a file changed within the last second is
		// not cached: it is read again on the next call until it settles.
		f.keys, f.rejected, f.stamp, f.loaded = keys, lineErrs, stamp, ok && stamp.settled(readAt)
		f.log.Debug("authorized_keys read", "path", f.path, "keys", len(keys), "rejected_lines", len(lineErrs))
	}
	f.reported = ""
	return slices.Clone(f.keys), slices.Clone(f.rejected), nil
}

// Read reads the file afresh, exactly as Keys does (opened as the account with
// O_NONBLOCK, the opened file fstat'ed and checked by StrictModes, parsed by
// ParseAuthorizedKeys), and returns its keys and the lines it ignores. Unlike Keys it
// neither caches nor logs: it is for a diagnosis. A missing file is an error wrapping
// fs.ErrNotExist; a refusal wraps ErrStrictModes.
func (f *AuthorizedKeysFile) Read() ([]AuthorizedKey, []*LineError, error) {
	file, _, err := f.openChecked()
	if err != nil {
		return nil, nil, err
	}
	if file == nil {
		return nil, nil, fmt.Errorf("authorized_keys %q: %w", f.path, fs.ErrNotExist)
	}
	defer file.Close() // read-only: nothing to lose on close
	keys, lineErrs := ParseAuthorizedKeys(file, f.path)
	return keys, lineErrs, nil
}

// openChecked opens the file for reading and checks what was opened. A missing file is
// a nil file and no error; otherwise the caller closes the file.
func (f *AuthorizedKeysFile) openChecked() (*os.File, fs.FileInfo, error) {
	// Opened with the account's identity, as sshd does: root must not open, on the
	// account's behalf, what authorized_keys may be a symlink to (a device whose open
	// has side effects, a file the account cannot read). O_NONBLOCK keeps a FIFO from
	// hanging the open.
	var file *os.File
	err := asuser.Do(f.uid, f.fsgid(), f.gids, func() error {
		var err error
		file, err = os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open authorized_keys %q: %w", f.path, err)
	}
	// The checks apply to the opened file (fstat), not to whatever the path names by
	// now: a FIFO or another file swapped in after the open is never read.
	fi, err := file.Stat()
	if err != nil {
		file.Close() // read-only
		return nil, nil, fmt.Errorf("stat authorized_keys %q: %w", f.path, err)
	}
	if err := checkStrictModes(f.path, fi, f.uid, f.gids, f.home); err != nil {
		file.Close() // read-only
		return nil, nil, err
	}
	return file, fi, nil
}

// fsgid is the group the file is opened with: the primary group, which comes first in
// gids, or the kernel's overflow group ("nogroup") when gids is empty, never root's.
func (f *AuthorizedKeysFile) fsgid() int {
	if len(f.gids) == 0 {
		return 65534
	}
	return f.gids[0]
}

// fail forgets the keys, logs err at warn unless it was the last thing logged, and
// returns it.
func (f *AuthorizedKeysFile) fail(err error) error {
	f.forget()
	f.report(slog.LevelWarn, err.Error(), "authorized_keys refused", "path", f.path, "err", err)
	return err
}

// forget drops the cached keys, so the next good state is read afresh.
func (f *AuthorizedKeysFile) forget() {
	f.loaded, f.keys, f.rejected, f.stamp = false, nil, nil, fileStamp{}
}

// report logs msg unless state is what was logged last.
func (f *AuthorizedKeysFile) report(level slog.Level, state, msg string, args ...any) {
	if state == f.reported {
		return
	}
	f.reported = state
	f.log.Log(context.Background(), level, msg, args...)
}
