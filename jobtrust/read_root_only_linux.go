package jobtrust

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotRootOnly marks a path that ReadRootOnlyFile does not read as root: something
// on the way to the file (a directory, a symlink, the file itself) is not owned by root
// or may be changed by group or others, so someone other than root could have chosen
// what the path names. Read such a file as the account instead, or refuse it.
var ErrNotRootOnly = errors.New("not root's alone")

// maxSymlinks bounds the symlinks followed on one path (the kernel's own limit).
const maxSymlinks = 40

// ReadRootOnlyFile reads at most limit bytes of the regular file at the absolute path
// when only root could have decided which file that is, and fails with an error
// wrapping ErrNotRootOnly otherwise. It is how an agent running as root reads a file a
// flag names (--job-key, --job-secret-file) without copying out whatever a user's
// symlink points at (issue 10, item 1).
//
// The path is walked one component at a time from "/", each opened with O_PATH and
// O_NOFOLLOW relative to the directory before it and checked on the descriptor: every
// directory passed through must be root's and not writable by group or others, except
// a sticky one (a Kubernetes Secret volume, /tmp), in which only root's entries are
// used, since others cannot rename or remove those; every symlink must be root's (its
// target is then walked the same way, so Secret mounts' ..data links work); the file
// must be root's, regular and not writable by group or others. What is checked is then
// what is read: nobody but root can change any entry on the way, and the file is
// opened relative to its checked directory with O_NOFOLLOW and compared with what was
// checked (dev, inode) and must have no other name (one hard link: see readFile). This
// is the walk openat2's RESOLVE_NO_SYMLINKS would make
// impossible for Secret mounts, done by hand.
func ReadRootOnlyFile(path string, limit int64) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("read %s: not an absolute path", path)
	}
	w, err := newRootWalk()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer w.close()
	data, err := w.read(path, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// rootWalk is the state of ReadRootOnlyFile's walk: the checked directories from "/"
// down to the current one, each an O_PATH descriptor ("..": the one before).
type rootWalk struct {
	dirs     []int
	symlinks int
}

func newRootWalk() (*rootWalk, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /: %w", err)
	}
	w := &rootWalk{dirs: []int{fd}}
	if err := checkRootOnlyDir(fd, "/"); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *rootWalk) close() {
	for _, fd := range w.dirs {
		_ = unix.Close(fd) // O_PATH descriptors: nothing to lose
	}
	w.dirs = nil
}

func (w *rootWalk) cur() int { return w.dirs[len(w.dirs)-1] }

// toRoot drops every directory but "/" (an absolute symlink target starts there).
func (w *rootWalk) toRoot() {
	for len(w.dirs) > 1 {
		w.up()
	}
}

func (w *rootWalk) up() {
	if len(w.dirs) > 1 {
		_ = unix.Close(w.cur())
		w.dirs = w.dirs[:len(w.dirs)-1]
	}
}

// read walks path (components still to walk, from the current directory) and reads
// the file it ends at.
func (w *rootWalk) read(path string, limit int64) ([]byte, error) {
	todo := splitPath(path)
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case ".":
			continue
		case "..":
			w.up() // the directory above was checked on the way down
			continue
		}
		fd, err := unix.Openat(w.cur(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %q: %w", name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			_ = unix.Close(fd)
			return nil, fmt.Errorf("stat %q: %w", name, err)
		}
		if st.Uid != 0 {
			_ = unix.Close(fd)
			return nil, fmt.Errorf("%q is owned by uid %d: %w", name, st.Uid, ErrNotRootOnly)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := readlinkFD(fd)
			_ = unix.Close(fd)
			if err != nil {
				return nil, fmt.Errorf("read symlink %q: %w", name, err)
			}
			if w.symlinks++; w.symlinks > maxSymlinks {
				return nil, fmt.Errorf("more than %d symlinks", maxSymlinks)
			}
			if strings.HasPrefix(target, "/") {
				w.toRoot()
			}
			todo = append(splitPath(target), todo...)
		case unix.S_IFDIR:
			if err := checkRootOnlyDir(fd, name); err != nil {
				_ = unix.Close(fd)
				return nil, err
			}
			w.dirs = append(w.dirs, fd)
		case unix.S_IFREG:
			_ = unix.Close(fd)
			if len(todo) > 0 {
				return nil, fmt.Errorf("%q is not a directory", name)
			}
			if st.Mode&0o022 != 0 {
				return nil, fmt.Errorf("%q may be written by group or others (mode %#o): %w", name, st.Mode&0o7777, ErrNotRootOnly)
			}
			return w.readFile(name, &st, limit)
		default:
			_ = unix.Close(fd)
			return nil, fmt.Errorf("%q is not a regular file (mode %#o)", name, st.Mode)
		}
	}
	return nil, errors.New("names a directory, not a file")
}

// readFile opens name in the current directory for reading and reads it, after making
// sure it is the file that was checked (want).
func (w *rootWalk) readFile(name string, want *unix.Stat_t, limit int64) ([]byte, error) {
	fd, err := unix.Openat(w.cur(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
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

// checkRootOnlyDir requires the directory open as fd to be root's and not writable by
// group or others unless sticky (then only root's entries are used: see read).
func checkRootOnlyDir(fd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %q: %w", name, err)
	}
	if st.Uid != 0 {
		return fmt.Errorf("directory %q is owned by uid %d: %w", name, st.Uid, ErrNotRootOnly)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("directory %q may be written by group or others (mode %#o): %w", name, st.Mode&0o7777, ErrNotRootOnly)
	}
	return nil
}

// readlinkFD reads the target of the symlink open as an O_PATH descriptor.
func readlinkFD(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", err
	}
	if n >= len(buf) {
		return "", errors.New("target too long")
	}
	return string(buf[:n]), nil
}

// splitPath splits a path into its components, dropping empty ones.
func splitPath(p string) []string {
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return parts
}
