package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"jobsshd/internal/pathwalk"
)

// mkdirNoFollow creates path's missing directories (mode 0700) the way os.MkdirAll
// would, but never through a symlink that belongs to anyone but euid or root: the part
// of path that exists is walked with checkSymlink's rule (internal/pathwalk), and each
// missing directory is made with mkdirat in the directory opened before it and opened
// with O_NOFOLLOW before the next is made in it. Whoever can write a directory on path
// can therefore not swap in a symlink of theirs after the check and have root create
// directories where it points.
func mkdirNoFollow(path string, euid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	existing, missing := abs, []string(nil)
	for {
		if _, err := os.Lstat(existing); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		missing = append([]string{filepath.Base(existing)}, missing...)
		existing = parent
	}
	if len(missing) == 0 {
		return nil // sameAsWalk checks what is there after the open
	}
	w, err := pathwalk.Resolve(existing, pathwalk.Rules{Entry: foreignSymlinkRule(path, euid)})
	if err != nil {
		return err
	}
	defer w.Close()
	dir, err := unix.Openat(w.Dir(), w.Name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", existing, err)
	}
	for _, name := range missing {
		if err := unix.Mkdirat(dir, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			_ = unix.Close(dir) // O_PATH descriptor
			return fmt.Errorf("mkdir %s: %w", name, err)
		}
		next, err := unix.Openat(dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		_ = unix.Close(dir) // O_PATH descriptor
		if err != nil {
			return fmt.Errorf("open %s (replaced by a symlink or file meanwhile?): %w", name, err)
		}
		dir = next
	}
	_ = unix.Close(dir) // O_PATH descriptor
	return nil
}

// foreignSymlinkRule is checkSymlink's rule as a pathwalk rule: a symlink that belongs
// to anyone but euid or root is refused.
func foreignSymlinkRule(path string, euid int) func(string, *unix.Stat_t) error {
	return func(name string, st *unix.Stat_t) error {
		if st.Mode&unix.S_IFMT != unix.S_IFLNK || int(st.Uid) == euid || st.Uid == 0 {
			return nil
		}
		return &UnsafeError{Path: path, Reason: fmt.Sprintf("is reached through %q, a symlink that belongs to uid %d, who could point it anywhere", name, st.Uid),
			Fix: "pass --state-dir with a path whose directories and symlinks belong to root (e.g. /var/lib/jobsshd)"}
	}
}
