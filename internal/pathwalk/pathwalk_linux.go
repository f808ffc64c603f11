package pathwalk

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symlinks followed on one path (the kernel's own limit).
const maxSymlinks = 40

// Rules are what a walk checks; a nil rule accepts everything. An error from a rule
// ends the walk and is returned as it is (wrapped with nothing), so callers can match
// their own error types.
type Rules struct {
	// Entry is shown every entry the walk opens: "/" first, then each component and
	// each component of a symlink's target, whatever its type, before it is used.
	Entry func(name string, st *unix.Stat_t) error
	// Dir is shown every directory the walk passes through ("/" included), but not
	// the one the path ends at.
	Dir func(name string, st *unix.Stat_t) error
}

// Walk is a resolved path: the checked directories from "/" down to the one that holds
// the final entry, each open as an O_PATH descriptor. Close releases them.
type Walk struct {
	dirs     []int
	symlinks int
	rules    Rules
	// Name is the final entry's name in Dir(); "." when the path ends at a directory
	// reached through "." or "..".
	Name string
	// Stat is the final entry, as opened (never a symlink: those are followed).
	Stat unix.Stat_t
}

// Resolve walks the absolute path under rules and returns the walk positioned in the
// directory that holds the final entry. The caller must Close it.
func Resolve(path string, rules Rules) (*Walk, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("%s: not an absolute path", path)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /: %w", err)
	}
	w := &Walk{dirs: []int{fd}, rules: rules}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		w.Close()
		return nil, fmt.Errorf("stat /: %w", err)
	}
	if err := w.checkDir("/", &st, true); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.walk(path); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Dir is the O_PATH descriptor of the directory that holds the final entry, valid
// until Close: open the entry relative to it (openat with O_NOFOLLOW) and compare.
func (w *Walk) Dir() int { return w.dirs[len(w.dirs)-1] }

// Close releases the walk's descriptors.
func (w *Walk) Close() {
	for _, fd := range w.dirs {
		_ = unix.Close(fd) // O_PATH descriptors: nothing to lose
	}
	w.dirs = nil
}

// checkDir applies the rules to a directory: Entry always, Dir when passed through.
func (w *Walk) checkDir(name string, st *unix.Stat_t, through bool) error {
	if w.rules.Entry != nil {
		if err := w.rules.Entry(name, st); err != nil {
			return err
		}
	}
	if through && w.rules.Dir != nil {
		return w.rules.Dir(name, st)
	}
	return nil
}

func (w *Walk) up() {
	if len(w.dirs) > 1 {
		_ = unix.Close(w.Dir())
		w.dirs = w.dirs[:len(w.dirs)-1]
	}
}

// walk resolves path's components from the current directory.
func (w *Walk) walk(path string) error {
	todo := splitPath(path)
	w.Name = "."
	if err := unix.Fstat(w.Dir(), &w.Stat); err != nil {
		return fmt.Errorf("stat /: %w", err)
	}
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if name == "." || name == ".." {
			if name == ".." {
				w.up() // the directory above was checked on the way down
			}
			if len(todo) == 0 {
				w.Name = "."
				if err := unix.Fstat(w.Dir(), &w.Stat); err != nil {
					return fmt.Errorf("stat %q: %w", name, err)
				}
			}
			continue
		}
		fd, err := unix.Openat(w.Dir(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %q: %w", name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			_ = unix.Close(fd)
			return fmt.Errorf("stat %q: %w", name, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			err := w.follow(fd, name, &st, &todo)
			_ = unix.Close(fd)
			if err != nil {
				return err
			}
			continue
		}
		last := len(todo) == 0
		if last {
			_ = unix.Close(fd)
			if w.rules.Entry != nil {
				if err := w.rules.Entry(name, &st); err != nil {
					return err
				}
			}
			w.Name, w.Stat = name, st
			return nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			_ = unix.Close(fd)
			return fmt.Errorf("%q is not a directory", name)
		}
		if err := w.checkDir(name, &st, true); err != nil {
			_ = unix.Close(fd)
			return err
		}
		w.dirs = append(w.dirs, fd)
	}
	return nil
}

// follow checks the symlink open as fd and puts its target's components before todo.
func (w *Walk) follow(fd int, name string, st *unix.Stat_t, todo *[]string) error {
	if w.rules.Entry != nil {
		if err := w.rules.Entry(name, st); err != nil {
			return err
		}
	}
	target, err := readlinkFD(fd)
	if err != nil {
		return fmt.Errorf("read symlink %q: %w", name, err)
	}
	if w.symlinks++; w.symlinks > maxSymlinks {
		return fmt.Errorf("more than %d symlinks", maxSymlinks)
	}
	if strings.HasPrefix(target, "/") {
		for len(w.dirs) > 1 {
			w.up()
		}
	}
	rest := splitPath(target)
	if len(rest) == 0 && len(*todo) == 0 {
		rest = []string{"."} // a link to "/" ends at the directory it leads to
	}
	*todo = append(rest, *todo...)
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
