package asuser

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// Do runs fn with the calling thread's effective identity switched to the account's:
// effective (and so filesystem) uid uid, gid gid and supplementary groups groups. The
// kernel then checks every lookup, open, create, link, rename, bind and connect fn
// makes exactly as if the account made it, ACLs included: a symlink the account planted
// anywhere on a path leads only where the account could go anyway, nothing is opened
// that the account could not open (a device, say), and root_squash NFS homes work.
//
// The effective ids change, not only the filesystem ids (setfsuid), because a unix
// socket records its creator's effective ids: a peer asks for them with SO_PEERCRED,
// and daemons such as snapd or polkit grant rights by them. A socket fn connects to or
// listens on therefore belongs to the account, not to root. While switched, the thread
// also has no effective capabilities (capabilities(7): a change of the effective uid
// from 0 clears them); the real and saved uids stay 0, which is how it switches back.
//
// When the process already runs as uid, fn runs unchanged. A non-root process cannot
// act as another account and gets an error. fn's own error is returned as is.
//
// Only one thread changes: one locked to a goroutine of its own, which fn runs on; the
// caller waits. The Go runtime starts new threads from a clean template thread, never
// from a locked one, so no other goroutine runs with the account's identity. fn must not
// start goroutines that need the identity: they run on other threads. Should restoring
// root's identity fail, that goroutine exits without unlocking and the runtime destroys
// its thread.
func Do(uid, gid int, groups []int, fn func() error) error {
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
		err = switchThreadIdentity(uid, gid, groups)
		if err != nil {
			err = fmt.Errorf("act as uid %d: %w", uid, err)
		} else {
			err = fn()
		}
		if rerr := restoreThreadIdentity(euid, savedGID, savedGroups); rerr != nil {
			result <- errors.Join(err, fmt.Errorf("restore identity after acting as uid %d: %w", uid, rerr))
			return // thread still locked: it exits with this goroutine
		}
		runtime.UnlockOSThread()
		result <- err
	}()
	return <-result
}

// switchThreadIdentity sets this thread's groups, effective gid and effective uid, in
// that order (groups and gid first, while still privileged). Raw syscalls on purpose:
// syscall.Setgroups, Setresuid and friends apply to every thread of the process since
// Go 1.16. A failure part way is undone by restoreThreadIdentity, which the caller runs
// whatever happens.
func switchThreadIdentity(uid, gid int, groups []int) error {
	if err := setThreadGroups(groups); err != nil {
		return err
	}
	if _, _, errno := syscall.RawSyscall(sysSetresgid, ^uintptr(0), uintptr(gid), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("setresgid %d: %w", gid, errno)
	}
	if _, _, errno := syscall.RawSyscall(sysSetresuid, ^uintptr(0), uintptr(uid), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("setresuid %d: %w", uid, errno)
	}
	if got := effectiveIDs(); got != [2]int{uid, gid} {
		return fmt.Errorf("switch to uid %d gid %d: thread runs as uid %d gid %d", uid, gid, got[0], got[1])
	}
	return nil
}

// restoreThreadIdentity undoes switchThreadIdentity, uid first: setting the effective
// uid back to the real one (root) needs no privilege and gives the capabilities back,
// which the gid and groups then need.
func restoreThreadIdentity(uid, gid int, groups []int) error {
	if _, _, errno := syscall.RawSyscall(sysSetresuid, ^uintptr(0), uintptr(uid), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("setresuid %d: %w", uid, errno)
	}
	if _, _, errno := syscall.RawSyscall(sysSetresgid, ^uintptr(0), uintptr(gid), ^uintptr(0)); errno != 0 {
		return fmt.Errorf("setresgid %d: %w", gid, errno)
	}
	if err := setThreadGroups(groups); err != nil {
		return err
	}
	if got := effectiveIDs(); got != [2]int{uid, gid} {
		return fmt.Errorf("restore uid %d gid %d: thread runs as uid %d gid %d", uid, gid, got[0], got[1])
	}
	return nil
}

func setThreadGroups(groups []int) error {
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
	return nil
}

// effectiveIDs are this thread's effective uid and gid, read back from the kernel
// (os.Geteuid may answer for another thread).
func effectiveIDs() [2]int {
	var r, e, s uint32
	syscall.RawSyscall(sysGetresuid, uintptr(unsafe.Pointer(&r)), uintptr(unsafe.Pointer(&e)), uintptr(unsafe.Pointer(&s)))
	uid := e
	syscall.RawSyscall(sysGetresgid, uintptr(unsafe.Pointer(&r)), uintptr(unsafe.Pointer(&e)), uintptr(unsafe.Pointer(&s)))
	return [2]int{int(uid), int(e)}
}
