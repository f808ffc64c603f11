package rawio

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Stdio returns stdin and stdout as a reader and a writer that Go's poller waits on
// and that make raw calls, when they are pipes or sockets (as the agent gives its sftp
// and scp children, and OpenSSH a ProxyCommand): a duplicate of each descriptor is made
// non-blocking and given to os.NewFile, which registers a non-blocking descriptor with
// the poller. A process's inherited stdin is otherwise a blocking descriptor: each read
// of an idle one is a blocking system call that ties up a thread, and after 20 µs the
// runtime hands the processor to another thread. Terminals and files are left as they
// are (a terminal made non-blocking would stay so for the shell that shares it).
//
// The reader and writer returned for a pipe are also io.Closers that close the
// duplicate, which ends a Read or Write waiting on it; the process's own descriptor
// stays open.
func Stdio(stdin io.Reader, stdout io.Writer) (io.Reader, io.Writer) {
	if f, ok := pollable(stdin); ok {
		if rc, ok := rawConnOf(f); ok {
			stdin = closingReader{newReader(rc), f}
		}
	}
	if f, ok := pollable(stdout); ok {
		if rc, ok := rawConnOf(f); ok {
			stdout = closingWriter{newWriter(rc), f}
		}
	}
	return stdin, stdout
}

// closingReader and closingWriter close the duplicate descriptor Stdio made.
type closingReader struct {
	*reader
	f *os.File
}

func (r closingReader) Close() error { return r.f.Close() }

type closingWriter struct {
	*writer
	f *os.File
}

func (w closingWriter) Close() error { return w.f.Close() }

// pollable returns a non-blocking, pollable duplicate of s if s is an *os.File on a
// pipe or socket. The duplicate shares the open file description, so the original
// descriptor becomes non-blocking too: nothing may read or write it after this.
func pollable(s any) (*os.File, bool) {
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
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		if t := st.Mode & unix.S_IFMT; t != unix.S_IFIFO && t != unix.S_IFSOCK {
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
