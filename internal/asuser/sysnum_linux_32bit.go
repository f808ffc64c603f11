//go:build linux && (386 || arm)

package asuser

import "syscall"

// On 386 and arm the original calls take 16-bit ids; the *32 variants take full ids.
const (
	sysSetgroups = syscall.SYS_SETGROUPS32
	sysSetresuid = syscall.SYS_SETRESUID32
	sysSetresgid = syscall.SYS_SETRESGID32
	sysGetresuid = syscall.SYS_GETRESUID32
	sysGetresgid = syscall.SYS_GETRESGID32
)
