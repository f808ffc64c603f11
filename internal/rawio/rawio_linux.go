// Package rawio reads and writes the agent's non-blocking descriptors (its sockets, and
// the pipes of its own sftp and scp children) with raw system calls, outside the Go
// runtime's system-call bookkeeping, while the runtime's poller still does the waiting.
//
// Every ordinary system call goes through runtime.entersyscall, and that wakes the
// runtime's sysmon thread whenever sysmon sleeps deeply, which it does each time the
// agent's one processor (GOMAXPROCS=1) runs out of work (runtime/proc.go, sysmon: it
// "should wakeup from deep sleep if any P's become active ... due to exiting a
// syscall"); once awake it polls every 20 µs for at least a millisecond before it backs
// off. A transfer goes idle and busy thousands of times, so a 512 MiB transfer cost
// 2,000-5,000 of those wake-ups and their futex calls, 7-15% of the agent's CPU
// (BENCHMARKS.md, "uploads and -L" and "system calls outside the runtime's
// bookkeeping"). A read or write of a non-blocking descriptor returns at once, so it
// needs none of that: the scheduler loses nothing by not hearing of it.
//
// The one rule: a raw call must never wait, or it would stall its thread without the
// scheduler knowing (with one processor, the whole agent). So the descriptor must be
// non-blocking, and no lock the call takes may be held by a process that can wait: a
// pipe's lock is shared with the process at its other end (Usable). Reader and Writer
// check that before they wrap; *os.File.Fd() switches a file back to blocking mode, so
// no code may call it on a wrapped descriptor.
package rawio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadFD is one read(2) of fd into p made with unix.RawSyscall, retried on EINTR: the
// bytes read, or 0 and the error. It is for the function given to
// syscall.RawConn.Read, which waits in the poller when that returns false (on EAGAIN).
// p must not be empty.
func ReadFD(fd uintptr, p []byte) (int, syscall.Errno) { return rawIO(unix.SYS_READ, fd, p) }

// writeFD is one write(2) of p to fd made with unix.RawSyscall, retried on EINTR: the
// bytes written, or 0 and the error.
func writeFD(fd uintptr, p []byte) (int, syscall.Errno) { return rawIO(unix.SYS_WRITE, fd, p) }

// rawIO is the read(2) or write(2) (trap) of ReadFD and writeFD.
func rawIO(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		switch e {
		case 0:
			return int(n), 0
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}
