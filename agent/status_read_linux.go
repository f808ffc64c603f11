package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// maxStatusFile bounds what ReadStatus reads: the agent writes a few kilobytes.
const maxStatusFile = 1 << 20

// ErrNoStatus reports that there is no status.json: no agent listens with that state
// directory (yet).
var ErrNoStatus = errors.New("no status.json")

// ReadStatus reads status.json from the state directory stateDir, for a reader running
// as euid (`jobsshd status`). The directory, as opened, must be the reader's own (or
// the reader root) and not writable by group or others (checkStatusDir), so that
// nobody else can have put the file there; the file is opened
// without following a symlink, must be a regular file and is read up to
// maxStatusFile. A FIFO there cannot block the reader (O_NONBLOCK). The error wraps
// ErrNoStatus when the directory or the file does not exist.
func ReadStatus(stateDir string, euid int) (*Status, error) {
	path := filepath.Join(stateDir, StatusFileName)
	dir, err := os.OpenFile(stateDir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: state directory %s does not exist", ErrNoStatus, stateDir)
	}
	if err != nil {
		return nil, fmt.Errorf("open state directory: %w", err)
	}
	defer dir.Close() // read only
	fi, err := dir.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat state directory %s: %w", stateDir, err)
	}
	if err := checkStatusDir(stateDir, fi, euid); err != nil {
		return nil, err
	}
	fd, err := syscall.Openat(int(dir.Fd()), StatusFileName, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, syscall.ENOENT):
		return nil, fmt.Errorf("%w in %s", ErrNoStatus, stateDir)
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("%s is a symlink, which jobsshd never writes: remove it", path)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close() // read only
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file, which jobsshd always writes: remove it", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStatusFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxStatusFile {
		return nil, fmt.Errorf("%s is over %d bytes, far more than jobsshd writes: remove it", path, maxStatusFile)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse %s: %w (jobsshd replaces it atomically: remove it and restart jobsshd)", path, err)
	}
	st.dirOwner = int(fi.Sys().(*syscall.Stat_t).Uid) // checkStatusDir found a Stat_t
	return &st, nil
}

// checkStatusDir is ReadStatus's rule for the opened state directory fi: the reader's
// own, or any when the reader is root (an agent run as the user; the file is then read
// without following links and bounded), and writable by nobody else, as the agent
// requires of it (statedir.Check).
func checkStatusDir(path string, fi fs.FileInfo, euid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("state directory %s is not a directory: pass --state-dir with the one jobsshd serve uses", path)
	case !ok:
		return fmt.Errorf("state directory %s: no owner to check", path)
	case euid != 0 && int(st.Uid) != euid:
		return fmt.Errorf("state directory %s belongs to uid %d: run jobsshd status as that user or as root", path, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("state directory %s is writable by group or others (mode %04o), so anyone could have written its status.json: chmod go-w %s and restart jobsshd", path, fi.Mode().Perm(), path)
	}
	return nil
}
