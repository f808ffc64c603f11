// Package kernelstall stages, for tests, the waits in the kernel that a user's program
// can put in the way of the agent's system calls on descriptors it shares a kernel
// object with, to show that the agent keeps running meanwhile (internal/rawio: a raw
// call that waits stops the whole agent).
//
// Hold holds a pipe's lock: a write to the pipe from a page that faults and is not
// served (a userfaultfd page; for a user, a file mapped from a FUSE or network file
// system) keeps the pipe's one lock held, for both its ends, until the page is served
// (fs/pipe.c: pipe_write copies under pipe->mutex). A userfaultfd that holds a copy
// the kernel makes needs CAP_SYS_PTRACE (or vm.unprivileged_userfaultfd).
package kernelstall

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The userfaultfd ABI (linux/userfaultfd.h) for one missing anonymous page.
const (
	uffdAPI             = 0xAA
	uffdioAPICmd        = 0xc018aa3f // _IOWR(0xAA, 0x3F, struct uffdio_api)
	uffdioRegisterCmd   = 0xc020aa00 // _IOWR(0xAA, 0x00, struct uffdio_register)
	uffdioZeropageCmd   = 0xc020aa04 // _IOWR(0xAA, 0x04, struct uffdio_zeropage)
	uffdioRegisterModeM = 1          // UFFDIO_REGISTER_MODE_MISSING
)

type uffdioAPI struct{ api, features, ioctls uint64 }

type uffdioRegister struct{ start, len, mode, ioctls uint64 }

type uffdioZeropage struct {
	start, len, mode uint64
	zeropage         int64
}

// Hold starts a write of one page to the pipe's write end wfd from a page that faults,
// and returns once the write holds the pipe's lock. release serves the page and returns
// once the write has completed and let the lock go.
func Hold(wfd int) (release func() error, err error) {
	page := os.Getpagesize()
	uffd, region, err := missingPage(page)
	if err != nil {
		return nil, err
	}
	written := make(chan struct{})
	go func() { _, _ = unix.Write(wfd, region); close(written) }() // an ordinary call: the runtime hands the processor on
	fds := []unix.PollFd{{Fd: int32(uffd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 10_000); n != 1 || err != nil {
		return nil, fmt.Errorf("the write to the pipe did not fault within 10 s: %d, %v", n, err)
	}
	return func() error {
		zero := uffdioZeropage{start: uint64(uintptr(unsafe.Pointer(&region[0]))), len: uint64(page)}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(uffd), uffdioZeropageCmd, uintptr(unsafe.Pointer(&zero))); e != 0 {
			return fmt.Errorf("UFFDIO_ZEROPAGE: %w", e)
		}
		<-written
		return nil
	}, nil
}

// missingPage returns a userfaultfd and a page registered with it that no access can
// read until the page is served.
func missingPage(page int) (int, []byte, error) {
	fd, _, e := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if e != 0 {
		return -1, nil, fmt.Errorf("userfaultfd: %w", e)
	}
	api := uffdioAPI{api: uffdAPI}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uffdioAPICmd, uintptr(unsafe.Pointer(&api))); e != 0 {
		return -1, nil, fmt.Errorf("UFFDIO_API: %w", e)
	}
	region, err := unix.Mmap(-1, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return -1, nil, err
	}
	reg := uffdioRegister{start: uint64(uintptr(unsafe.Pointer(&region[0]))), len: uint64(page), mode: uffdioRegisterModeM}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, uffdioRegisterCmd, uintptr(unsafe.Pointer(&reg))); e != 0 {
		return -1, nil, fmt.Errorf("UFFDIO_REGISTER: %w", e)
	}
	return int(fd), region, nil
}
