package statedir

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"jobsshd/internal/pathwalk"
)

// sameAsWalk makes sure that opened, the directory os.OpenRoot(path) opened, is the
// one path names under checkSymlink's rule: path is walked again one component at a
// time, never through a symlink that belongs to anyone but euid or root
// (internal/pathwalk, as jobtrust.ReadRootOnlyFile walks), and what the walk ends at
// must be opened itself (device and inode). Whoever can write a directory on path (an
// fsGroup volume for --state-dir) could otherwise swap in a symlink of theirs for the
// moment of the open, and root would create host keys and status.json wherever it
// pointed; swapping it back before this walk changes the inode the walk finds, and
// leaving it in place is refused by the walk.
func sameAsWalk(path string, opened fs.FileInfo, euid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("state directory %q: %w", path, err)
	}
	w, err := pathwalk.Resolve(abs, pathwalk.Rules{Entry: foreignSymlinkRule(path, euid)})
	if err != nil {
		if IsUnsafe(err) {
			return err
		}
		return fmt.Errorf("state directory %q: walk its path: %w", path, err)
	}
	defer w.Close()
	got, ok := opened.Sys().(*syscall.Stat_t)
	if !ok || uint64(got.Dev) != uint64(w.Stat.Dev) || got.Ino != w.Stat.Ino {
		return &UnsafeError{Path: path,
			Reason: "changed while jobsshd opened it: something on its path was replaced meanwhile, so whoever can write a directory on the way could choose where host keys go",
			Fix:    "pass --state-dir with a path whose directories only root can write (e.g. /var/lib/jobsshd)"}
	}
	return nil
}
