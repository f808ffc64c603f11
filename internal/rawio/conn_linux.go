package rawio

import (
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reader reads a descriptor through its syscall.RawConn: the runtime's poller waits
// (so deadlines and Close work as they do for net.Conn and *os.File), the calls
// themselves are raw. The function handed to RawConn.Read is bound once: a closure
// made per call would be one allocation per Read, which a stream read in small pieces
// (a 16-byte bufio.Reader skipping a frame byte by byte) turns into megabytes.
type reader struct {
	rc   syscall.RawConn
	step func(fd uintptr) bool // r.readOnce, bound once

	mu    sync.Mutex // one Read at a time: p, n and errno are its state
	p     []byte
	n     int
	errno syscall.Errno
}

func newReader(rc syscall.RawConn) *reader {
	r := &reader{rc: rc}
	r.step = r.readOnce
	return r
}

// readOnce is one read(2); false (EAGAIN) makes RawConn.Read wait in the poller and
// call it again.
func (r *reader) readOnce(fd uintptr) bool {
	r.n, r.errno = ReadFD(fd, r.p)
	return r.errno != unix.EAGAIN
}

// Read reads once into p; it returns io.EOF at the end of the stream.
func (r *reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = p
	err := r.rc.Read(r.step)
	r.p = nil
	switch {
	case err != nil: // a deadline, or the descriptor closed while waiting
		return 0, err
	case r.errno != 0:
		return 0, os.NewSyscallError("read", r.errno)
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// writer writes a descriptor as reader reads one.
type writer struct {
	rc   syscall.RawConn
	step func(fd uintptr) bool // w.writeSome, bound once

	mu    sync.Mutex // one Write at a time: p, done and errno are its state
	p     []byte
	done  int
	errno syscall.Errno
}

func newWriter(rc syscall.RawConn) *writer {
	w := &writer{rc: rc}
	w.step = w.writeSome
	return w
}

// writeSome writes until p is written, the descriptor is full (false: RawConn.Write
// waits in the poller and calls it again) or an error.
func (w *writer) writeSome(fd uintptr) bool {
	for w.done < len(w.p) {
		n, e := writeFD(fd, w.p[w.done:])
		switch e {
		case 0:
			w.done += n
		case unix.EAGAIN:
			return false
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// Write writes all of p.
func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.p, w.done, w.errno = p, 0, 0
	err := w.rc.Write(w.step)
	w.p = nil
	if err == nil && w.errno != 0 {
		err = os.NewSyscallError("write", w.errno)
	}
	return w.done, err
}

// syscallConner is what *os.File, *net.TCPConn and *net.UnixConn have.
type syscallConner interface {
	SyscallConn() (syscall.RawConn, error)
}

// Usable returns rc if a raw call on its descriptor cannot block: a TCP socket or a
// terminal in non-blocking mode. A regular file is never usable: its reads and writes
// wait for the disk whatever its mode says. Nor is a descriptor whose calls can wait
// for the process at its other end:
//   - a pipe: its two ends share one lock, which the process at the other end holds
//     while the kernel copies to or from that process's memory (fs/pipe.c: pipe_read
//     and pipe_write take pipe->mutex whatever O_NONBLOCK says, and copy under it), so
//     a page fault there that waits (a file mapped from a FUSE or network file system)
//     makes our non-blocking call wait for it too;
//   - a unix socket: the peer can send descriptors with its bytes, a read that does not
//     take them drops them, and the kernel releases the last reference to a file before
//     the call returns (fput's task_work), however long that waits (the release of a
//     pipe end waits for the pipe's lock; a TCP socket's close with SO_LINGER, for its
//     peer).
//
// With a raw call such a wait holds the runtime's processor. Only where the other end
// is a process of ours are pipes and unix sockets raw: PipeReader, PipeWriter, Stdio.
func Usable(rc syscall.RawConn) (syscall.RawConn, bool) { return usable(rc, false) }

// usable is Usable, and with ownPeer true a pipe or unix socket too.
func usable(rc syscall.RawConn, ownPeer bool) (syscall.RawConn, bool) {
	ok := false
	if err := rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
		case unix.S_IFSOCK:
			domain, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
			if err != nil || (domain == unix.AF_UNIX && !ownPeer) {
				return
			}
		case unix.S_IFIFO:
			if !ownPeer {
				return
			}
		default:
			return
		}
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		ok = err == nil && fl&unix.O_NONBLOCK != 0
	}); err != nil || !ok {
		return nil, false
	}
	return rc, true
}

// rawConnOf returns v's RawConn if v has one and Usable (with ownPeer, usable) says
// a raw call on it cannot block.
func rawConnOf(v any, ownPeer bool) (syscall.RawConn, bool) {
	sc, ok := v.(syscallConner)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	return usable(rc, ownPeer)
}

// Reader returns a reader of r's descriptor that makes raw calls, or r itself when r
// has no non-blocking descriptor or is a pipe or unix socket (see Usable).
func Reader(r io.Reader) io.Reader {
	if rc, ok := rawConnOf(r, false); ok {
		return newReader(rc)
	}
	return r
}

// Writer returns a writer of w's descriptor that makes raw calls, or w itself when w
// has no non-blocking descriptor or is a pipe or unix socket (see Usable).
func Writer(w io.Writer) io.Writer {
	if rc, ok := rawConnOf(w, false); ok {
		return newWriter(rc)
	}
	return w
}

// PipeReader is Reader for a pipe or unix socket too: only for one whose other end is
// a process of ours, which never holds the pipe's lock while it waits nor sends
// descriptors (see Usable).
func PipeReader(r io.Reader) io.Reader {
	if rc, ok := rawConnOf(r, true); ok {
		return newReader(rc)
	}
	return r
}

// PipeWriter is Writer for a pipe or unix socket too: only for one whose other end is
// a process of ours.
func PipeWriter(w io.Writer) io.Writer {
	if rc, ok := rawConnOf(w, true); ok {
		return newWriter(rc)
	}
	return w
}

// WriterOf returns a writer of rc's descriptor that makes raw calls, if it is
// non-blocking.
func WriterOf(rc syscall.RawConn) (io.Writer, bool) {
	if rc, ok := Usable(rc); ok {
		return newWriter(rc), true
	}
	return nil, false
}
