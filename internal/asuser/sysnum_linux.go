//go:build linux && !386 && !arm

package asuser

import "syscall"

// The identity syscalls that take 32-bit ids.
const (
	sysSetgroups = syscall.SYS_SETGROUPS
	sysSetresuid = syscall.SYS_SETRESUID
	sysSetresgid = syscall.SYS_SETRESGID
	sysGetresuid = syscall.SYS_GETRESUID
	sysGetresgid = syscall.SYS_GETRESGID
)
