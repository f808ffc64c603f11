//go:build linux && (386 || arm)

package keys

import "syscall"

// On 386 and arm the original calls take 16-bit ids; the *32 variants take full ids.
const (
	sysSetgroups = syscall.SYS_SETGROUPS32
	sysSetfsuid  = syscall.SYS_SETFSUID32
	sysSetfsgid  = syscall.SYS_SETFSGID32
)
