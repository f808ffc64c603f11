//go:build linux && !386 && !arm

package keys

import "syscall"

// The identity syscalls that take 32-bit ids.
const (
	sysSetgroups = syscall.SYS_SETGROUPS
	sysSetfsuid  = syscall.SYS_SETFSUID
	sysSetfsgid  = syscall.SYS_SETFSGID
)
