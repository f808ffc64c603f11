package keys

import (
	"fmt"
	"os"
	"syscall"

	"jobsshd/internal/asuser"
)

// ReadUserKeyFileAs reads one of the account's id_container files (the private key, its
// .pub or its .ppk) for a download: opened as the account (uid, gid, groups), with
// O_NOFOLLOW and O_NONBLOCK, and accepted only as a regular file of the account's, not
// writable by group or others (userKeyCheck), of at most 64 KiB. So a symlink or FIFO
// the user planted at the path, or a file someone else put there, is refused rather
// than read with root's rights. A missing file is an error satisfying
// errors.Is(err, fs.ErrNotExist).
func ReadUserKeyFileAs(path string, uid, gid int, groups []int) ([]byte, error) {
	var data []byte
	err := asuser.Do(uid, gid, groups, func() error {
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close() // read-only
		data, err = readOpened(f, path, maxKeyFileSize, userKeyCheck(path, uid))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s as uid %d: %w", path, uid, err)
	}
	return data, nil
}
