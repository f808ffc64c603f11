package web

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// chmodSocket makes the socket Listen just bound at path 0660, without following a
// symlink: if the directory is one the served account can write, it could swap the
// socket for a symlink to /etc/shadow between the bind and a chmod by path, and the
// agent, as root, would open that file to its group. The path is opened with
// O_PATH|O_NOFOLLOW, must still be a socket, and is changed through its descriptor
// (/proc/self/fd, as glibc's fchmodat with AT_SYMLINK_NOFOLLOW does), so what was
// checked is what is changed.
func chmodSocket(path string) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s is no longer the socket just bound (something replaced it): put the socket in a directory only root can write", path)
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), 0o660)
}
