package jobtrust

import (
	"io/fs"

	"jobsshd/internal/atomicfile"
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

// replaceFile writes data to path atomically, following a symlink at path (a
// ~/.ssh/config kept in a dotfiles checkout stays a link); mode applies to a new file,
// an existing one keeps its mode minus write permission for group and others
// (atomicfile.ReplacePath). The caller runs as the account.
func replaceFile(path string, data []byte, mode fs.FileMode) error {
	return atomicfile.ReplacePath(path, data, mode)
}
