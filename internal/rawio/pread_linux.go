package rawio

import (
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReadAt reads len(p) bytes of f at off, as os.File.ReadAt does, but first with one
// preadv2(2) with RWF_NOWAIT made as a raw call: a read the page cache can answer
// never waits for a disk, so it needs none of the scheduler's bookkeeping, and does not
// wake the runtime's sysmon (see the package comment). When the cache does not hold
// the bytes (EAGAIN), or the kernel or file system does not know RWF_NOWAIT, the rest
// is read with an ordinary call, which lets the scheduler run other goroutines while
// the disk works. f is a regular file the caller has open for reading.
func ReadAt(f *os.File, p []byte, off int64) (int, error) {
	n, ok := preadCached(f, p, off)
	switch {
	case !ok:
		return f.ReadAt(p, off)
	case n == len(p):
		return n, nil
	case n == 0:
		return 0, io.EOF
	}
	// A short read: the end of the file, or only part of it cached.
	m, err := f.ReadAt(p[n:], off+int64(n))
	return n + m, err
}

// preadCached is one raw preadv2(fd, p, off, RWF_NOWAIT): the bytes read (0 at the end
// of the file) and true, or false when nothing could be read without waiting.
func preadCached(f *os.File, p []byte, off int64) (n int, ok bool) {
	if len(p) == 0 || off < 0 {
		return 0, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	lo, hi := offsetHalves(off)
	_ = rc.Control(func(fd uintptr) {
		for {
			r, _, e := unix.RawSyscall6(unix.SYS_PREADV2, fd, uintptr(unsafe.Pointer(&iov)), 1, lo, hi, unix.RWF_NOWAIT)
			if e == unix.EINTR {
				continue
			}
			n, ok = int(r), e == 0
			return
		}
	})
	if !ok {
		n = 0
	}
	return n, ok
}

// offsetHalves splits a file offset into preadv2's pos_l and pos_h arguments: the
// kernel joins them as (pos_h << 32 << 32) | pos_l, so on a 64-bit system all of it is
// pos_l (x/sys/unix offs2lohi does the same).
func offsetHalves(off int64) (lo, hi uintptr) {
	const longBits = unsafe.Sizeof(uintptr(0)) * 8
	return uintptr(off), uintptr(uint64(off) >> (longBits - 1) >> 1)
}
