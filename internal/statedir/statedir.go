package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Dir is an opened, checked state directory. Path is for messages and for what others
// read by name (status.json); Root is what the agent acts through.
type Dir struct {
	Path string
	Root *os.Root
}

// Open creates path (mode 0700, with its missing parents) when it does not exist, opens
// it and checks the opened directory with Check, as uid euid. A symlink on path (at
// path itself or in place of one of its parents) is followed only when it belongs to
// euid or root, since anyone else who could plant it there could point it at a
// directory of their choosing for root to create and write in (/etc/ssh,
// /etc/sudoers.d: root's, so Check alone accepts them). Missing directories are made
// without following such a symlink (mkdirNoFollow). os.OpenRoot follows symlinks,
// so that rule is applied to the directory it opened, after the open (sameAsWalk): a
// symlink swapped in between a check and the open is caught. The caller closes
// Dir.Root.
//
// The errors from Check are configuration errors an operator fixes (see Check); the
// others are I/O errors naming the path.
func Open(path string, euid int) (*Dir, error) {
	return open(path, euid, raceHooks{})
}

// raceHooks, when set, run at the points where a racing writer of a parent directory
// could swap the path, so that tests can do it there.
type raceHooks struct {
	beforeMkdir, beforeOpen func()
}

// open is Open with hooks for tests.
func open(path string, euid int, hooks raceHooks) (*Dir, error) {
	if err := checkSymlink(path, euid); err != nil {
		return nil, err
	}
	if hooks.beforeMkdir != nil {
		hooks.beforeMkdir()
	}
	if err := mkdirNoFollow(path, euid); err != nil {
		if IsUnsafe(err) {
			return nil, err
		}
		return nil, fmt.Errorf("create state directory %q: %w: %s", path, err, createFix(err, euid))
	}
	if hooks.beforeOpen != nil {
		hooks.beforeOpen()
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("open state directory %q: %w", path, err)
	}
	// Root.Stat(".") is an fstatat on the opened directory, not a new lookup of path.
	fi, err := root.Stat(".")
	if err == nil {
		err = sameAsWalk(path, fi, euid)
	} else {
		err = fmt.Errorf("stat state directory %q: %w", path, err)
	}
	if err == nil {
		err = Check(path, fi, euid)
	}
	if err != nil {
		root.Close() // read-only handle
		return nil, err
	}
	return &Dir{Path: path, Root: root}, nil
}

// Inspect applies Open's rules to path without creating or opening anything, for a
// diagnosis (jobsshd doctor): the error is an *UnsafeError for what Open refuses, and
// wraps fs.ErrNotExist when there is no directory yet.
func Inspect(path string, euid int) error {
	if err := checkSymlink(path, euid); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return Check(path, fi, euid)
}

// checkSymlink refuses a symlink on path that belongs to neither euid nor root.
//
// Every component of path is looked at, not only the last: MkdirAll creates what is
// missing through the symlinks on the way, so a symlink planted in place of a parent
// directory would make root create the state directory (and host keys) wherever it
// points. A symlink of root's or euid's own is trusted, as is the rest of the path.
// This is a check before use, for a clear error early; what is created and opened is
// checked again on descriptors (mkdirNoFollow, sameAsWalk), which closes the race.
func checkSymlink(path string, euid int) error {
	clean := filepath.Clean(path)
	for p := clean; ; p = filepath.Dir(p) {
		li, err := os.Lstat(p)
		if err == nil && li.Mode()&fs.ModeSymlink != 0 {
			if owner := ownerOf(li); owner != euid && owner != 0 {
				if p == clean {
					return &UnsafeError{Path: path, Reason: fmt.Sprintf("is a symlink that belongs to uid %d, who could point it anywhere", owner),
						Fix: fmt.Sprintf("replace the symlink with a directory (rm %s && mkdir -m 700 %s), or pass --state-dir with the directory itself", path, path)}
				}
				return &UnsafeError{Path: path, Reason: fmt.Sprintf("is reached through %s, a symlink that belongs to uid %d, who could point it anywhere", p, owner),
					Fix: "pass --state-dir with a path whose directories belong to root (e.g. /var/lib/jobsshd)"}
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// createFix is the advice for a state directory that could not be created. Under
// entrypoint.sh there is no command line to pass --state-dir on, hence the variable;
// not as root the default is under $HOME, which a container run as an arbitrary uid
// may have set to "/" (podman's and CRI-O's added /etc/passwd entry), hence HOME.
func createFix(err error, euid int) string {
	if errors.Is(err, syscall.EROFS) {
		return readOnlyFix
	}
	fix := "pass --state-dir (or set JOBSSHD_STATE_DIR) with a directory jobsshd can create"
	if euid != 0 && errors.Is(err, fs.ErrPermission) {
		fix += fmt.Sprintf(", or set HOME to a directory uid %d may write (a volume, or -e HOME=... on a writable mount), under which jobsshd keeps its state by default", euid)
	}
	return fix
}

// ReadOnlyAdvice adds the fix to err when it is a write to the state directory that
// failed because its file system is read-only (a state directory that exists in an
// image run with --read-only), and returns err as it is otherwise.
func ReadOnlyAdvice(err error) error {
	if errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w: %s", err, readOnlyFix)
	}
	return err
}

// readOnlyFix is the advice for a state directory on a read-only file system: a
// container run with --read-only has its image read-only, /var/lib/jobsshd included,
// and only the mounts it is given (a tmpfs on /tmp, volumes) writable.
const readOnlyFix = "the file system is read-only (a container run with --read-only?): pass --state-dir (or set JOBSSHD_STATE_DIR) with a directory on a writable mount, such as /tmp/jobsshd on a tmpfs or a volume"

// UnsafeError is a state directory jobsshd refuses, with the reason and the fix.
type UnsafeError struct {
	Path, Reason, Fix string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("state directory %s %s: %s", e.Path, e.Reason, e.Fix)
}

// Check applies the state directory rule to fi, the directory as opened (or, for a
// diagnosis, as stat'ed): a directory, owned by euid, not writable by group or others.
// The error is an *UnsafeError.
func Check(path string, fi fs.FileInfo, euid int) error {
	if !fi.IsDir() {
		return &UnsafeError{Path: path, Reason: "is not a directory", Fix: "pass --state-dir with a directory"}
	}
	if owner := ownerOf(fi); owner != euid {
		return &UnsafeError{Path: path,
			Reason: fmt.Sprintf("belongs to uid %d, not to uid %d which jobsshd runs as: whoever owns it can replace the host keys", owner, euid),
			Fix:    fmt.Sprintf("chown %d %s && chmod 700 %s, or pass --state-dir with a directory of jobsshd's own", euid, path, path)}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &UnsafeError{Path: path,
			Reason: fmt.Sprintf("is writable by group or others (mode %04o): they could replace the host keys or race jobsshd's files there", perm),
			Fix:    fmt.Sprintf("chmod go-w %s (a Kubernetes fsGroup volume is group-writable: use a directory of its own for --state-dir)", path)}
	}
	return nil
}

// ownerOf is fi's owner uid, or -1 when fi carries no stat_t.
func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// IsUnsafe reports whether err is a refusal by Check (a configuration error).
func IsUnsafe(err error) bool {
	var u *UnsafeError
	return errors.As(err, &u)
}
