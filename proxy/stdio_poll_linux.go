package proxy

import (
	"io"
	"os"

	"golang.org/x/sys/unix"

	"jobsshd/internal/rawio"
)

// rawStdio returns stdin and stdout as readers and writers the Go runtime's poller
// waits on and that make raw system calls (internal/rawio), when they are pipes, as
// OpenSSH gives a ProxyCommand: a duplicate of each descriptor is made non-blocking
// and given to os.NewFile, which registers a non-blocking descriptor with the poller.
// Without that, a read of an idle stdin is a blocking system call that ties up a
// thread, and every call wakes the runtime's sysmon. Terminals, files and sockets are
// left as they are: a terminal made non-blocking would stay so in the shell that
// shares it.
func rawStdio(stdin io.Reader, stdout io.Writer) (io.Reader, io.Writer) {
	if f, ok := pollablePipe(stdin); ok {
		stdin = rawio.Reader(f)
	}
	if f, ok := pollablePipe(stdout); ok {
		stdout = rawio.Writer(f)
	}
	return stdin, stdout
}

// pollablePipe returns a non-blocking, pollable duplicate of s if s is an *os.File on
// a pipe. The duplicate shares the pipe end's open file description, so the original
// descriptor becomes non-blocking too; nothing reads it after this.
func pollablePipe(s any) (*os.File, bool) {
	f, ok := s.(*os.File)
	if !ok {
		return nil, false
	}
	rc, err := f.SyscallConn() // f.Fd() would switch a pollable file to blocking mode
	if err != nil {
		return nil, false
	}
	dup := -1
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		if d, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err == nil {
			dup = d
		}
	})
	if dup < 0 {
		return nil, false
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		_ = unix.Close(dup)
		return nil, false
	}
	return os.NewFile(uintptr(dup), f.Name()), true
}
