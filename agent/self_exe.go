package agent

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// procSelfExe names the running binary itself: a magic link to the executable's inode,
// followed without looking up its path again.
const procSelfExe = "/proc/self/exe"

// selfExecutable is what file transfer sessions start, as the account, to serve
// sftp-server and scp: /proc/self/exe when /proc is mounted, else the path the binary
// was started from.
//
// Through /proc/self/exe the exec reaches the binary the agent runs, without a lookup
// of its path: the account needs execute permission on the file itself, as execve(2)
// always requires, and the mount must allow exec, but it needs no search permission on
// the directories above it. So a binary in a directory the account cannot enter (a 0700
// temp directory, a root-only mount) still serves transfers, and a binary replaced on
// disk meanwhile (an upgrade) is not mixed with the running agent. This grants the
// account nothing it could not have: the file's own mode still decides whether it may
// run it, and a binary it may execute but not read stays unreadable (the kernel makes
// such a process non-dumpable, so its /proc/PID/exe cannot be opened by the account).
//
// When the account cannot execute it even so (the file is not executable by others, or
// is on a noexec mount), the agent still serves logins, and says at start what is wrong
// and how to fix it (checkSelfExeForAccount), as doctor does.
func (s *Server) selfExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the jobsshd binary (for sftp-server): %w", err)
	}
	path := exe
	if _, err := os.Stat(procSelfExe); err == nil {
		path = procSelfExe
	}
	if s.credential != nil {
		if err := s.checkSelfExeForAccount(path, exe); err != nil {
			s.log.Warn("sftp and scp will fail", "err", err)
		}
	}
	return path, nil
}

// checkSelfExeForAccount checks, as the account, that it can execute path (the binary
// at exe); the error says what is wrong and the fix.
func (s *Server) checkSelfExeForAccount(path, exe string) error {
	err := s.asAccount(func() error { return CanExecute(path) })
	if err == nil {
		return nil
	}
	problem, fix := ExecuteProblem(s.account.Name, exe, err)
	return fmt.Errorf("%s: %s", problem, fix)
}

// CanExecute reports whether the calling thread's effective identity may execute path
// (faccessat with AT_EACCESS: the file's mode, ACLs and a noexec mount count).
func CanExecute(path string) error {
	return unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS)
}

// ExecuteProblem describes why account cannot execute the jobsshd binary exe (err from
// CanExecute) and the fix; doctor and serve say the same.
func ExecuteProblem(account, exe string, err error) (problem, fix string) {
	problem = fmt.Sprintf("%q cannot execute the jobsshd binary %s (%v), which serves sftp and scp as %q", account, exe, err, account)
	fix = fmt.Sprintf("chmod 755 %s, or install jobsshd where %s may run it (e.g. /usr/local/bin, mode 0755)", exe, account)
	if errors.Is(err, syscall.EACCES) {
		var st unix.Statfs_t
		if unix.Statfs(exe, &st) == nil && st.Flags&unix.ST_NOEXEC != 0 {
			fix = fmt.Sprintf("install jobsshd on a filesystem not mounted noexec (e.g. /usr/local/bin): %s is on a noexec mount", exe)
		}
	}
	return problem, fix
}
