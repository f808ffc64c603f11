package rawio

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// conn reads and writes a descriptor through its syscall.RawConn: the runtime's poller
// waits (so deadlines and Close work as they do for net.Conn and *os.File), the calls
// themselves are raw.
type conn struct{ rc syscall.RawConn }

// Read reads once into p; it returns io.EOF at the end of the stream.
func (c conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n     int
		errno syscall.Errno
	)
	err := c.rc.Read(func(fd uintptr) bool {
		n, errno = ReadFD(fd, p)
		return errno != unix.EAGAIN // EAGAIN: wait in the poller, then call again
	})
	switch {
	case err != nil: // a deadline, or the descriptor closed while waiting
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting in the poller whenever the descriptor is full.
func (c conn) Write(p []byte) (int, error) {
	var (
		done  int
		errno syscall.Errno
	)
	err := c.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			n, e := writeFD(fd, p[done:])
			switch e {
			case 0:
				done += n
			case unix.EAGAIN:
				return false // full: wait in the poller, then call again
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("write", errno)
	}
	return done, err
}

// syscallConner is what *os.File, *net.TCPConn and *net.UnixConn have.
type syscallConner interface {
	SyscallConn() (syscall.RawConn, error)
}

// Usable returns rc if a raw call on its descriptor cannot block: a socket, pipe or
// terminal in non-blocking mode. A regular file is never usable: its reads and writes
// wait for the disk whatever its mode says.
func Usable(rc syscall.RawConn) (syscall.RawConn, bool) {
	usable := false
	if err := rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFSOCK, unix.S_IFIFO, unix.S_IFCHR:
		default:
			return
		}
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		usable = err == nil && fl&unix.O_NONBLOCK != 0
	}); err != nil || !usable {
		return nil, false
	}
	return rc, true
}

// rawConnOf returns v's RawConn if v has one and its descriptor is non-blocking: a
// socket from package net, or a pipe from os.Pipe. A terminal, a regular file or a
// blocking pipe is not wrapped.
func rawConnOf(v any) (syscall.RawConn, bool) {
	sc, ok := v.(syscallConner)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return Usable(rc)
}

// Reader returns a reader of r's descriptor that makes raw calls, or r itself when r
// has no non-blocking descriptor.
func Reader(r io.Reader) io.Reader {
	if rc, ok := rawConnOf(r); ok {
		return conn{rc}
	}
	return r
}

// Writer returns a writer of w's descriptor that makes raw calls, or w itself when w
// has no non-blocking descriptor.
func Writer(w io.Writer) io.Writer {
	if rc, ok := rawConnOf(w); ok {
		return conn{rc}
	}
	return w
}

// WriterOf returns a writer of rc's descriptor that makes raw calls, if it is
// non-blocking.
func WriterOf(rc syscall.RawConn) (io.Writer, bool) {
	if rc, ok := Usable(rc); ok {
		return conn{rc}, true
	}
	return nil, false
}
