package jobtrust

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"jobsshd/internal/pathwalk"
)

// ErrNotRootOnly marks a path that ReadRootOnlyFile does not read as root: something
// on the way to the file (a directory, a symlink, the file itself) is not owned by root
// or may be changed by group or others, so someone other than root could have chosen
// what the path names. Read such a file as the account instead, or refuse it.
var ErrNotRootOnly = errors.New("not root's alone")

// ReadRootOnlyFile reads at most limit bytes of the regular file at the absolute path
// when only root could have decided which file that is, and fails with an error
// wrapping ErrNotRootOnly otherwise. It is how an agent running as root reads a file a
// flag names (--job-key, --job-secret-file) without copying out whatever a user's
// symlink points at (issue 10, item 1).
//
// The path is walked one component at a time from "/" (internal/pathwalk), each opened
// with O_PATH and O_NOFOLLOW relative to the directory before it and checked on the
// descriptor: every entry on the way must be root's; every directory passed through
// must not be writable by group or others, except a sticky one (a Kubernetes Secret
// volume, /tmp), in which only root's entries are used, since others cannot rename or
// remove those; every symlink's target is walked the same way, so Secret mounts' ..data
// links work; the file must be regular and not writable by group or others. What is
// checked is then what is read: nobody but root can change any entry on the way, and
// the file is opened relative to its checked directory with O_NOFOLLOW, compared with
// what was checked (dev, inode) and must have no other name (one hard link: see
// readCheckedFile).
func ReadRootOnlyFile(path string, limit int64) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("read %s: not an absolute path", path)
	}
	w, err := pathwalk.Resolve(path, pathwalk.Rules{Entry: rootOwned, Dir: checkRootOnlyDir})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer w.Close()
	switch w.Stat.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, fmt.Errorf("read %s: names a directory, not a file", path)
	default:
		return nil, fmt.Errorf("read %s: %q is not a regular file (mode %#o)", path, w.Name, w.Stat.Mode)
	}
	if w.Stat.Mode&0o022 != 0 {
		return nil, fmt.Errorf("read %s: %q may be written by group or others (mode %#o): %w", path, w.Name, w.Stat.Mode&0o7777, ErrNotRootOnly)
	}
	data, err := readCheckedFile(w.Dir(), w.Name, &w.Stat, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// rootOwned requires an entry on the way to be root's.
func rootOwned(name string, st *unix.Stat_t) error {
	if st.Uid != 0 {
		return fmt.Errorf("%q is owned by uid %d: %w", name, st.Uid, ErrNotRootOnly)
	}
	return nil
}

// readCheckedFile opens name in the checked directory dir for reading and reads it, after
// making sure it is the file that was checked (want).
func readCheckedFile(dir int, name string, want *unix.Stat_t, limit int64) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close() // read-only
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %q: %w", name, err)
	}
	if st.Dev != want.Dev || st.Ino != want.Ino {
		return nil, fmt.Errorf("%q changed while it was being opened", name)
	}
	// A second name for the file could sit in a directory others can write: in a
	// sticky one (/tmp) on the same filesystem, an account may hard-link root's file
	// into place when fs.protected_hardlinks is 0 (a host setting a container cannot
	// rely on), and the link is root's and passes every check above. One name only.
	if st.Nlink != 1 {
		return nil, fmt.Errorf("%q has %d hard links, so another name for it may be in a directory others can write: "+
			"give the file a name of its own (cp it to a root-only directory and point the flag there): %w", name, st.Nlink, ErrNotRootOnly)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%q is larger than %d bytes", name, limit)
	}
	return data, nil
}

// checkRootOnlyDir requires a directory passed through not to be writable by group or
// others unless sticky (then only root's entries are used: rootOwned).
func checkRootOnlyDir(name string, st *unix.Stat_t) error {
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("directory %q may be written by group or others (mode %#o): %w", name, st.Mode&0o7777, ErrNotRootOnly)
	}
	return nil
}
