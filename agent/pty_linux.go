package agent

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"jobsshd/internal/account"
)

// terminal is one pseudo-terminal pair. The master stays with the agent; the slave
// becomes the session process's controlling terminal.
//
// The master is opened through os.OpenFile so that Go's poller owns it: reads honour
// deadlines and Close unblocks a pending Read. creack/pty hands out a blocking master on
// which neither works (creack/pty#162, #174), which is how a background job holding the
// terminal hangs a session forever (dstackai/dstack#4276).
type terminal struct {
	master *os.File
	slave  *os.File
	name   string // /dev/pts/N, for SSH_TTY
}

// openTerminal allocates a pty whose slave is owned by uid (and the tty group, mode
// 0620, as OpenSSH's pty_setowner leaves it) so that programs which reopen $SSH_TTY work.
func openTerminal(uid, gid uint32, chown bool) (*terminal, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open pty master /dev/ptmx: %w (is devpts mounted in this container?)", err)
	}
	var n int
	err = controlFD(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlock pty: %w", err)
		}
		n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		if err != nil {
			return fmt.Errorf("get pty number: %w", err)
		}
		return nil
	})
	if err != nil {
		master.Close()
		return nil, err
	}
	name := "/dev/pts/" + strconv.Itoa(n)
	if chown {
		if err := os.Chown(name, int(uid), int(ttyGroup(gid))); err != nil {
			master.Close()
			return nil, fmt.Errorf("chown %s: %w", name, err)
		}
		if err := os.Chmod(name, 0o620); err != nil {
			master.Close()
			return nil, fmt.Errorf("chmod %s: %w", name, err)
		}
	}
	// The slave is opened as a plain blocking descriptor: it is handed to the child,
	// whose programs expect blocking stdio.
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("open pty slave %s: %w", name, err)
	}
	return &terminal{master: master, slave: os.NewFile(uintptr(sfd), name), name: name}, nil
}

// ttyGroup returns the gid of the "tty" group, or fallback when the image has none.
func ttyGroup(fallback uint32) uint32 {
	if gid, ok := account.GroupID("tty"); ok {
		return gid
	}
	return fallback
}

// setSize applies a window size to the terminal; the kernel then sends SIGWINCH to the
// foreground process group (RFC 4254 §6.7).
func (t *terminal) setSize(cols, rows, width, height uint32) error {
	ws := &unix.Winsize{Col: clampU16(cols), Row: clampU16(rows), Xpixel: clampU16(width), Ypixel: clampU16(height)}
	return controlFD(t.master, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) })
}

// closeSlave drops the agent's copy of the slave once the child holds its own, so that
// the master reads EIO when the last process using the terminal is gone.
func (t *terminal) closeSlave() {
	if t.slave != nil {
		t.slave.Close()
		t.slave = nil
	}
}

// close hangs up the terminal: closing the master sends SIGHUP to the session that
// still has it as controlling terminal.
func (t *terminal) close() {
	t.closeSlave()
	t.master.Close()
}

// controlFD runs fn on f's descriptor without f.Fd(), which would switch a pollable
// file back to blocking mode.
func controlFD(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}

func clampU16(v uint32) uint16 {
	if v > 0xffff {
		return 0xffff
	}
	return uint16(v)
}
