package rawio

import (
	"io"
	"os"
	"sync"

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
// stays open. Once both are closed, a description Stdio made non-blocking is made
// blocking again: whoever shares it (the shell of `(jobsshd proxy ...; cat) | ...`)
// gets it back as it gave it. Not before: stdin and stdout may be one socket (sshd
// gives a subsystem one end of a socketpair as both), and the other's raw calls would
// then block. Callers close both when they are done.
func Stdio(stdin io.Reader, stdout io.Writer) (io.Reader, io.Writer) {
	m := &stdioModes{}
	if f, ok := m.pollable(stdin); ok {
		if rc, ok := rawConnOf(f, true); ok {
			stdin = &closingReader{newReader(rc), &duplicate{f: f, m: m}}
		} else {
			m.drop(f)
		}
	}
	if f, ok := m.pollable(stdout); ok {
		if rc, ok := rawConnOf(f, true); ok {
			stdout = &closingWriter{newWriter(rc), &duplicate{f: f, m: m}}
		} else {
			m.drop(f)
		}
	}
	return stdin, stdout
}

// closingReader and closingWriter close the duplicate descriptor Stdio made.
type closingReader struct {
	*reader
	*duplicate
}

type closingWriter struct {
	*writer
	*duplicate
}

// duplicate is a descriptor Stdio made; closing it tells m, once.
type duplicate struct {
	f    *os.File
	m    *stdioModes
	once sync.Once
}

func (d *duplicate) Close() error {
	err := d.f.Close()
	d.once.Do(d.m.closed)
	return err
}

// stdioModes gives back the blocking mode of the descriptions one Stdio call made
// non-blocking, once every duplicate it made is closed. Closing a duplicate that Go's
// poller owns waits until no call on it is under way (internal/poll's FD.Close), so
// after the last Close no raw call can meet the blocking mode.
type stdioModes struct {
	mu      sync.Mutex
	open    int   // duplicates made and not yet closed
	restore []int // plain duplicates of the descriptions to make blocking again
}

func (m *stdioModes) closed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.open--; m.open > 0 {
		return
	}
	for _, fd := range m.restore {
		_ = unix.SetNonblock(fd, false)
		_ = unix.Close(fd)
	}
	m.restore = nil
}

// drop closes a duplicate that could not be used: the caller goes on with the
// original descriptor, which must then be as it was.
func (m *stdioModes) drop(f *os.File) {
	_ = f.Close()
	m.closed()
}

// pollable returns a non-blocking, pollable duplicate of s if s is an *os.File on a
// pipe or socket. The duplicate shares the open file description, so the original
// descriptor becomes non-blocking too, until the duplicates are closed: nothing may
// read or write it meanwhile.
func (m *stdioModes) pollable(s any) (*os.File, bool) {
	f, ok := s.(*os.File)
	if !ok {
		return nil, false
	}
	rc, err := f.SyscallConn() // f.Fd() would switch a pollable file to blocking mode
	if err != nil {
		return nil, false
	}
	dup, keep := -1, -1
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		if t := st.Mode & unix.S_IFMT; t != unix.S_IFIFO && t != unix.S_IFSOCK {
			return
		}
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			return
		}
		if fl&unix.O_NONBLOCK == 0 { // to make blocking again at the end
			if keep, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err != nil {
				return
			}
		}
		if d, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err == nil {
			dup = d
		} else if keep >= 0 {
			_ = unix.Close(keep)
		}
	})
	if dup < 0 {
		return nil, false
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		_ = unix.Close(dup)
		if keep >= 0 {
			_ = unix.Close(keep)
		}
		return nil, false
	}
	m.mu.Lock()
	m.open++
	if keep >= 0 {
		m.restore = append(m.restore, keep)
	}
	m.mu.Unlock()
	return os.NewFile(uintptr(dup), f.Name()), true
}

// CloseStdio closes the reader and writer Stdio returned, if it made them (which
// gives the descriptions back their blocking mode); the process's own stdin and stdout
// are never closed.
func CloseStdio(stdin io.Reader, stdout io.Writer) {
	if r, ok := stdin.(*closingReader); ok {
		_ = r.Close() // a duplicate descriptor: nothing to report
	}
	if w, ok := stdout.(*closingWriter); ok {
		_ = w.Close()
	}
}
