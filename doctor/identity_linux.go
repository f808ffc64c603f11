package doctor

import (
	"syscall"

	"jobsshd/internal/asuser"
)

// atEACCESS makes faccessat check with the effective ids, which asuser.Do switches,
// rather than the real ones, which stay root's (<fcntl.h> AT_EACCESS).
const atEACCESS = 0x200

// atFDCWD makes faccessat resolve a relative path from the working directory
// (<fcntl.h> AT_FDCWD).
const atFDCWD = -100

// asAccount runs fn with the account's identity, as the agent does before it opens a
// file of the account's. The process must be root or the account itself (checkIdentity).
func asAccount(uid, gid int, groups []int, fn func() error) error {
	return asuser.Do(uid, gid, groups, fn)
}

// accessible reports whether the current effective identity may access path with mode
// (a combination of the access(2) R_OK=4, W_OK=2 and X_OK=1 bits), ACLs and read-only
// mounts included.
func accessible(path string, mode uint32) error {
	return syscall.Faccessat(atFDCWD, path, mode, atEACCESS)
}
