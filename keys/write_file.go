package keys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fileOwner is who a written file must belong to; nil leaves it to the creating
// process (and, under asuser.Do, to the account).
type fileOwner struct{ uid, gid int }

// writeNewFile creates name in dir holding data with exactly mode, atomically and
// without ever replacing anything: the data goes to a temporary file in the same
// directory, is fsynced, and is then hard-linked to name. link(2) fails with EEXIST when
// name exists in any form, a dangling symlink included, so nothing is overwritten and no
// symlink is followed; the error then satisfies errors.Is(err, fs.ErrExist).
//
// dir is the opened directory (an *os.Root), so the directory the caller checked is the
// one written in, whatever happens to its path meanwhile.
//
// Filesystems without hard links (vfat, many FUSE mounts such as s3fs) fall back to an
// O_EXCL create written in place: still never overwriting or following, but a crash
// can leave a short file behind.
func writeNewFile(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *fileOwner) error {
	path := filepath.Join(dir.Name(), name)
	tmp, err := writeTempFile(dir, name, data, mode, owner)
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
		return writeNewFileInPlace(dir, name, data, mode, owner)
	default:
		return fmt.Errorf("create %q: %w", path, linkErr)
	}
}

// writeNewFileInPlace is writeNewFile's fallback for filesystems without link(2).
// O_EXCL with O_CREAT never follows a symlink at name (open(2)).
func writeNewFileInPlace(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *fileOwner) error {
	path := filepath.Join(dir.Name(), name)
	f, err := dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	if err := fillFile(f, data, mode, owner); err != nil {
		_ = dir.Remove(name) // a partial key file would be kept forever as "existing"
		return fmt.Errorf("write %q: %w", path, err)
	}
	return syncDir(dir)
}

// replaceFile writes name in dir atomically (temporary file, fsync, rename). rename(2)
// replaces the directory entry itself, so a symlink at name is replaced, not followed.
func replaceFile(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *fileOwner) error {
	tmp, err := writeTempFile(dir, name, data, mode, owner)
	if err != nil {
		return err
	}
	if err := dir.Rename(tmp, name); err != nil {
		_ = dir.Remove(tmp) // best effort; the rename error is the one to report
		return fmt.Errorf("replace %q: %w", filepath.Join(dir.Name(), name), err)
	}
	return syncDir(dir)
}

// ReplaceFile is replaceFile for other packages: it writes name in dir atomically with
// exactly mode (set through the descriptor, whatever the umask), replacing what is
// there without following it. The agent writes status.json with it.
func ReplaceFile(dir *os.Root, name string, data []byte, mode fs.FileMode) error {
	return replaceFile(dir, name, data, mode, nil)
}

// writeTempFile writes data to a new, uniquely named file beside name (created with
// O_EXCL, so never an existing file or a symlink) and returns its name in dir.
func writeTempFile(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *fileOwner) (string, error) {
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
	if err := fillFile(f, data, mode, owner); err != nil {
		_ = dir.Remove(tmp) // best effort; the write error is the one to report
		return "", fmt.Errorf("write temporary file for %q: %w", filepath.Join(dir.Name(), name), err)
	}
	return tmp, nil
}

// fillFile sets f's mode and owner through the descriptor (fchmod ignores the umask,
// fchown cannot be redirected), writes data, fsyncs and closes f.
func fillFile(f *os.File, data []byte, mode fs.FileMode, owner *fileOwner) error {
	err := f.Chmod(mode)
	if err == nil && owner != nil {
		err = f.Chown(owner.uid, owner.gid)
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

// ReadRegularFile reads at most limit bytes of path, refusing a symlink at path itself
// (O_NOFOLLOW) and anything that is not a regular file. O_NONBLOCK keeps a FIFO planted
// at path from blocking the open. It is how jobsshd reads key files, so that tools that
// check them (jobsshd doctor) read exactly what the server would.
func ReadRegularFile(path string, limit int64) ([]byte, error) {
	return readFileChecked(path, limit, nil)
}

// readPrivateFile is ReadRegularFile for a private key: the opened file must belong to
// uid and be unreadable by group and others, as ssh refuses to use a private key that
// is not ("UNPROTECTED PRIVATE KEY FILE"). A key someone else could have written or
// read is no key to trust for logins.
func readPrivateFile(path string, limit int64, uid int) ([]byte, error) {
	return readFileChecked(path, limit, privateFileCheck(path, uid))
}

// privateFileCheck is readPrivateFile's check of the opened file at path.
func privateFileCheck(path string, uid int) func(fs.FileInfo) error {
	return func(st fs.FileInfo) error {
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if int(sys.Uid) != uid {
			return fmt.Errorf("private key %q belongs to uid %d, not %d: remove it to have a new one generated, or chown it", path, sys.Uid, uid)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("private key %q is accessible by group or others (mode %04o): chmod 600 %s", path, st.Mode().Perm(), path)
		}
		return nil
	}
}

// readFileIn is readFileChecked for name in the opened directory dir: a symlink at name
// is refused, and check (when not nil) applies to the opened file.
func readFileIn(dir *os.Root, name string, limit int64, check func(fs.FileInfo) error) ([]byte, error) {
	path := filepath.Join(dir.Name(), name)
	li, err := dir.Lstat(name)
	if err != nil {
		return nil, err
	}
	if li.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("open %q: it is a symlink, which jobsshd does not follow here", path)
	}
	f, err := dir.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close() // read-only
	return readOpened(f, path, limit, check)
}

// ReadRegularFileFollow is ReadRegularFile for files that may be reached through
// symlinks, as Kubernetes mounts Secret and ConfigMap files (..data links): a trusted
// CA file, a job secret, the ssh client files of job trust. The opened file must still
// be a regular file, FIFOs do not block, and at most limit bytes are read.
func ReadRegularFileFollow(path string, limit int64) ([]byte, error) {
	return readFile(path, 0, limit, nil)
}

// readFileChecked opens path without following a symlink, requires a regular file that
// passes check (when not nil) as opened, and reads at most limit bytes of it.
func readFileChecked(path string, limit int64, check func(fs.FileInfo) error) ([]byte, error) {
	return readFile(path, syscall.O_NOFOLLOW, limit, check)
}

// readFile is the bounded, non-blocking read behind the two above; flags adds to
// O_RDONLY|O_NONBLOCK.
func readFile(path string, flags int, limit int64, check func(fs.FileInfo) error) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|flags, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("open %q: it is a symlink, which jobsshd does not follow here", path)
		}
		return nil, err
	}
	defer f.Close() // read-only
	return readOpened(f, path, limit, check)
}

// readOpened checks the opened file f (named path in messages) with fstat: a regular
// file that passes check (when not nil); then reads at most limit bytes of it.
func readOpened(f *os.File, path string, limit int64, check func(fs.FileInfo) error) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %q: %s is not a regular file", path, fileKind(st.Mode()))
	}
	if check != nil {
		if err := check(st); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %q: larger than %d bytes", path, limit)
	}
	return data, nil
}
