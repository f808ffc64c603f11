package closeonexec

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// firstInherited is the lowest descriptor marked: 0, 1 and 2 are the agent's own stdin,
// stdout and stderr (its log), which it never hands to a user's program.
const firstInherited = 3

// AboveStderr marks every open descriptor from 3 up close-on-exec, so that no program
// the process later starts inherits one. Descriptors the process opens itself are
// close-on-exec already (Go opens everything with O_CLOEXEC); only inherited ones
// change, and they stay usable by this process. Call it first thing in main.
//
// close_range(2) with CLOSE_RANGE_CLOEXEC does it in one call (Linux 5.11); an older
// kernel answers ENOSYS (before 5.9) or EINVAL (the flag unknown), and then each open
// descriptor listed in /proc/self/fd is marked, or, without /proc, every number below
// the open-file limit.
func AboveStderr() error {
	err := unix.CloseRange(firstInherited, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil || !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
		// EPERM: a seccomp filter that predates close_range (older Docker profiles)
		// refuses it; the fallbacks use only fcntl.
		if err != nil {
			return fmt.Errorf("close_range(3, ~0, CLOSE_RANGE_CLOEXEC): %w", err)
		}
		return nil
	}
	return markEach()
}

// markEach is the fallback of AboveStderr without close_range.
func markEach() error {
	fds, listErr := openDescriptors()
	if listErr != nil {
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("list open descriptors: %w; and read RLIMIT_NOFILE: %v", listErr, err)
		}
		// At most the limit's soft value: no descriptor can be open at or above it
		// (Go raises the soft limit to the hard one at start, so this covers what a
		// parent with a higher limit could have passed).
		for fd := firstInherited; uint64(fd) < lim.Cur; fd++ {
			fds = append(fds, fd)
		}
	}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("mark descriptor %d close-on-exec: %w", fd, err)
		}
	}
	return nil
}

// openDescriptors lists the open descriptors from 3 up, from /proc/self/fd. The
// directory's own descriptor is listed too; marking it once it is closed is EBADF,
// which markEach ignores.
func openDescriptors() ([]int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/fd: %w", err)
	}
	var fds []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil {
			return nil, fmt.Errorf("read /proc/self/fd: entry %q is not a number", n)
		}
		if fd >= firstInherited {
			fds = append(fds, fd)
		}
	}
	return fds, nil
}

// isCloseOnExec reports whether fd is marked close-on-exec (tests use it).
func isCloseOnExec(fd int) (bool, error) {
	flags, err := unix.FcntlInt(uintptr(fd), syscall.F_GETFD, 0)
	if err != nil {
		return false, err
	}
	return flags&unix.FD_CLOEXEC != 0, nil
}
