package doctor

import "syscall"

// atEACCESS makes faccessat check with the effective ids, which asuser.Do switches,
// rather than the real ones, which stay root's (<fcntl.h> AT_EACCESS).
const atEACCESS = 0x200

// atFDCWD makes faccessat resolve a relative path from the working directory
// (<fcntl.h> AT_FDCWD).
const atFDCWD = -100

// accessible reports whether the current effective identity may access path with mode
// (a combination of the access(2) R_OK=4, W_OK=2 and X_OK=1 bits), ACLs and read-only
// mounts included.
func accessible(path string, mode uint32) error {
	return syscall.Faccessat(atFDCWD, path, mode, atEACCESS)
}
