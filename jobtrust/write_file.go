package jobtrust

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"jobsshd/keys"
)

// maxClientFileSize bounds the ~/.ssh files read (config, known_hosts, key files).
const maxClientFileSize = 4 << 20

// readSmallFile reads path, following symlinks (Kubernetes mounts Secret files as
// symlinks into a ..data directory), refusing anything larger than maxClientFileSize or
// not a regular file, without blocking on a FIFO. A missing file gives an error that
// satisfies errors.Is(err, fs.ErrNotExist).
func readSmallFile(path string) ([]byte, error) {
	return keys.ReadRegularFileFollow(path, maxClientFileSize)
}

// replaceFile writes data to path atomically: a temporary file in the same directory,
// fsynced, renamed over path. A symlink at path is followed, and its target replaced,
// so a ~/.ssh/config kept in a dotfiles checkout stays a link; the caller runs as the
// account, so the kernel lets this reach only what the account may write anyway.
// mode applies to a new file; an existing file keeps its mode, minus write permission
// for group and others, which OpenSSH refuses ("Bad owner or permissions").
func replaceFile(path string, data []byte, mode fs.FileMode) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("resolve %s: %w", path, err)
	}
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm() &^ 0o022
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".jobsshd-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name()) // best effort; the write error is the one to report
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
