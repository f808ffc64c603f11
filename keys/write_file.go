package keys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"jobsshd/internal/atomicfile"
)

// fileOwner is who a written file must belong to; nil leaves it to the creating
// process (and, under asuser.Do, to the account).
type fileOwner = atomicfile.Owner

// writeNewFile creates name in dir atomically without ever replacing anything
// (atomicfile.Create, whose package doc sets out how the writers of jobsshd differ).
func writeNewFile(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *fileOwner) error {
	return atomicfile.Create(dir, name, data, mode, owner)
}

// replaceFile writes name in dir atomically, replacing what is there without following
// it (atomicfile.Replace).
func replaceFile(dir *os.Root, name string, data []byte, mode fs.FileMode, owner *fileOwner) error {
	return atomicfile.Replace(dir, name, data, mode, owner)
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
