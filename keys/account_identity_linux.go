package keys

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// asAccount runs fn with the calling thread's filesystem identity switched to the
// account's: fsuid uid, fsgid gid and supplementary groups groups. This is what sshd's
// temporarily_use_uid does before it touches a user's files. The kernel then checks
// every lookup, open, create, link and rename fn makes exactly as if the account made
// it, ACLs included: a symlink the account planted anywhere on a path leads only where
// the account could go anyway, nothing is opened that the account could not open (a
// device, say), and root_squash NFS homes work.
//
// When the process already runs as uid, fn runs unchanged. A non-root process cannot
// act as another account and gets an error. fn's own error is returned as is.
//
// Only the filesystem identity changes, and only on a thread locked to a goroutine of
// its own, which fn runs on; the caller waits. The Go runtime starts new threads from a
// clean template thread, never from a locked one, so no other goroutine runs with the
// account's identity. Should restoring root's identity fail, that goroutine exits
// without unlocking and the runtime destroys its thread.
func asAccount(uid, gid int, groups []int, fn func() error) error {
	euid := os.Geteuid()
	if uid == euid {
		return fn()
	}
	if euid != 0 {
		return fmt.Errorf("act as uid %d: jobsshd runs as uid %d, not root", uid, euid)
	}
	result := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No deferred unlock: the thread is given back only once it is root again.
		savedGroups, err := syscall.Getgroups()
		if err != nil {
			runtime.UnlockOSThread()
			result <- fmt.Errorf("act as uid %d: read groups: %w", uid, err)
			return
		}
		savedGID := os.Getegid()
		err = setThreadIdentity(uid, gid, groups)
		if err != nil {
			err = fmt.Errorf("act as uid %d: %w", uid, err)
		} else {
			err = fn()
		}
		if rerr := setThreadIdentity(euid, savedGID, savedGroups); rerr != nil {
			result <- errors.Join(err, fmt.Errorf("restore identity after acting as uid %d: %w", uid, rerr))
			return // thread still locked: it exits with this goroutine
		}
		runtime.UnlockOSThread()
		result <- err
	}()
	return <-result
}

// setThreadIdentity sets this thread's groups, fsgid and fsuid, in that order (groups
// and fsgid first, while still privileged). Raw syscalls on purpose: syscall.Setgroups
// applies to every thread of the process since Go 1.16.
func setThreadIdentity(uid, gid int, groups []int) error {
	list := make([]uint32, len(groups))
	for i, g := range groups {
		list[i] = uint32(g)
	}
	var p unsafe.Pointer
	if len(list) > 0 {
		p = unsafe.Pointer(&list[0])
	}
	if _, _, errno := syscall.RawSyscall(sysSetgroups, uintptr(len(list)), uintptr(p), 0); errno != 0 {
		return fmt.Errorf("setgroups: %w", errno)
	}
	// setfsuid and setfsgid report no errors; they return the previous value. Asking
	// again with an invalid id (-1) returns the current one, which is how to tell
	// whether the change took effect (it does not without CAP_SETUID/CAP_SETGID).
	syscall.RawSyscall(sysSetfsgid, uintptr(gid), 0, 0)
	if got, _, _ := syscall.RawSyscall(sysSetfsgid, ^uintptr(0), 0, 0); int(uint32(got)) != gid {
		return fmt.Errorf("setfsgid %d: still %d (missing CAP_SETGID?)", gid, uint32(got))
	}
	syscall.RawSyscall(sysSetfsuid, uintptr(uid), 0, 0)
	if got, _, _ := syscall.RawSyscall(sysSetfsuid, ^uintptr(0), 0, 0); int(uint32(got)) != uid {
		return fmt.Errorf("setfsuid %d: still %d (missing CAP_SETUID?)", uid, uint32(got))
	}
	return nil
}
