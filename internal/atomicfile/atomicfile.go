package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Owner is who a written file must belong to (see the package doc).
type Owner struct{ UID, GID int }

// Create creates name in dir holding data with exactly mode, atomically and without
// ever replacing anything (see the package doc). When name exists in any form the error
// satisfies errors.Is(err, fs.ErrExist). owner nil leaves the file to its creator.
func Create(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *Owner) error {
	path := filepath.Join(dir.Name(), name)
	tmp, err := writeTemp(dir, name, data, mode, owner)
	if err != nil {
		return err
	}
	linkErr := dir.Link(tmp, name)
	if err := dir.Remove(tmp); err != nil && linkErr == nil {
		return fmt.Errorf("remove temporary file %q: %w", filepath.Join(dir.Name(), tmp), err)
	}
	switch {
	case linkErr == nil:
		return syncDir(dir)
	case errors.Is(linkErr, fs.ErrExist):
		return fmt.Errorf("create %q: %w", path, fs.ErrExist)
	case errors.Is(linkErr, syscall.EPERM), errors.Is(linkErr, syscall.ENOTSUP),
		errors.Is(linkErr, syscall.ENOSYS), errors.Is(linkErr, syscall.EMLINK):
		return createInPlace(dir, name, data, mode, owner)
	default:
		return fmt.Errorf("create %q: %w", path, linkErr)
	}
}

// createInPlace is Create's fallback for filesystems without link(2). O_EXCL with
// O_CREAT never follows a symlink at name (open(2)).
func createInPlace(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *Owner) error {
	path := filepath.Join(dir.Name(), name)
	f, err := dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	if err := fill(f, data, mode, owner); err != nil {
		_ = dir.Remove(name) // a partial key file would be kept forever as "existing"
		return fmt.Errorf("write %q: %w", path, err)
	}
	return syncDir(dir)
}

// Replace writes name in dir atomically with exactly mode, replacing what is there:
// rename(2) replaces the directory entry itself, so a symlink at name is replaced, not
// followed. owner nil leaves the file to its creator.
func Replace(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *Owner) error {
	tmp, err := writeTemp(dir, name, data, mode, owner)
	if err != nil {
		return err
	}
	if err := dir.Rename(tmp, name); err != nil {
		_ = dir.Remove(tmp) // best effort; the rename error is the one to report
		return fmt.Errorf("replace %q: %w", filepath.Join(dir.Name(), name), err)
	}
	return syncDir(dir)
}

// ReplacePath writes data to path atomically, following a symlink at path and replacing
// its target; mode applies to a new file, an existing one keeps its mode minus write
// permission for group and others (see the package doc). It works on the directory by
// path, not as an *os.Root: opening the directory would need read permission on it,
// which creating and renaming a file in it does not (a ~/.ssh of mode 0300 is usable).
func ReplacePath(path string, data []byte, mode fs.FileMode) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("resolve %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm() &^ 0o022
	}
	dir := pathDir(filepath.Dir(path))
	tmp, err := writeTemp(dir, filepath.Base(path), data, mode, nil)
	if err == nil {
		if err = dir.Rename(tmp, filepath.Base(path)); err != nil {
			_ = dir.Remove(tmp) // best effort; the rename error is the one to report
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDirPath(string(dir))
	return nil
}

// directory is where writeTemp creates its file: an *os.Root, or a pathDir.
type directory interface {
	Name() string
	OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error)
	Remove(name string) error
	Rename(oldname, newname string) error
}

// pathDir is a directory reached through its path each time (ReplacePath).
type pathDir string

func (d pathDir) Name() string { return string(d) }

func (d pathDir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(filepath.Join(string(d), name), flag, perm)
}

func (d pathDir) Remove(name string) error { return os.Remove(filepath.Join(string(d), name)) }

func (d pathDir) Rename(oldname, newname string) error {
	return os.Rename(filepath.Join(string(d), oldname), filepath.Join(string(d), newname))
}

// syncDirPath makes a new directory entry in dir durable where it can: a directory the
// writer may not read (mode 0300), or one that cannot be fsynced, is left as it is, the
// file itself being synced.
func syncDirPath(dir string) {
	// O_DIRECTORY: something swapped in meanwhile (a FIFO) fails at once, never blocks.
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return
	}
	_ = d.Sync() // best effort, see above
	_ = d.Close()
}

// writeTemp writes data to a new, uniquely named file beside name (created with
// O_EXCL, so never an existing file or a symlink) and returns its name in dir.
func writeTemp(dir directory, name string, data []byte, mode fs.FileMode, owner *Owner) (string, error) {
	var f *os.File
	var tmp string
	for range 100 {
		var rnd [6]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", fmt.Errorf("create temporary file for %q: %w", filepath.Join(dir.Name(), name), err)
		}
		tmp = "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
		var err error
		f, err = dir.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create temporary file for %q: %w", filepath.Join(dir.Name(), name), err)
		}
		f = nil
	}
	if f == nil {
		return "", fmt.Errorf("create temporary file for %q: 100 names taken", filepath.Join(dir.Name(), name))
	}
	if err := fill(f, data, mode, owner); err != nil {
		_ = dir.Remove(tmp) // best effort; the write error is the one to report
		return "", fmt.Errorf("write temporary file for %q: %w", filepath.Join(dir.Name(), name), err)
	}
	return tmp, nil
}

// fill sets f's mode and owner through the descriptor, writes data, fsyncs and closes f.
func fill(f *os.File, data []byte, mode fs.FileMode, owner *Owner) error {
	err := f.Chmod(mode)
	if err == nil && owner != nil {
		err = f.Chown(owner.UID, owner.GID)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a new directory entry in dir durable.
func syncDir(dir *os.Root) error {
	d, err := dir.Open(".")
	if err != nil {
		return fmt.Errorf("open directory %q: %w", dir.Name(), err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some filesystems (FUSE, 9p) cannot fsync a directory; the file itself is synced.
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync directory %q: %w", dir.Name(), err)
	}
	return nil
}
