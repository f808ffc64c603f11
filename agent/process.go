package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"jobsshd/internal/rawio"
)

const (
	// pipeSize is asked of the kernel for the program's stdin and stdout pipes (the
	// default is 64 KiB): a bulk transfer then moves in fewer, larger reads and writes,
	// with fewer switches between the agent and the program. 1 MiB is the most an
	// unprivileged pipe may have by default (/proc/sys/fs/pipe-max-size).
	pipeSize = 1 << 20
	// copyBufferSize is what one read from a pipe or the channel may move.
	copyBufferSize = 256 << 10
	// After the program exits, a terminal is drained until it has been quiet this long
	// (or ptyDrainMax passed): background jobs may hold it open forever, but output the
	// program wrote just before exiting must still reach the client.
	ptyDrainIdle = 100 * time.Millisecond
	ptyDrainMax  = 2 * time.Second
)

// process is a session's running program and the goroutines that move its bytes.
type process struct {
	cmd     *exec.Cmd
	tty     *terminal  // nil without a pty
	outputs []*os.File // read ends of stdout and stderr (non-pty only)
	logs    *os.File   // read end of descriptor 3, for programs that log there
	stdin   *os.File   // write end of stdin (non-pty only)
	exited  atomic.Bool
	exitAt  atomic.Int64 // unix nanoseconds, once exited
	outDone sync.WaitGroup
	hangup  sync.Once
	killMu  sync.Mutex // held while signalling the process group; see wait
}

// exitResult is how the program ended, in RFC 4254 §6.10 terms.
type exitResult struct {
	status     uint32
	signal     string // without the "SIG" prefix; "" when it exited normally
	coreDumped bool
}

// copyInput moves the client's stdin to the program. On the client's EOF a pipe is
// closed so the program sees EOF; a terminal cannot be half-closed and stays open.
// ownProgram: the program is this binary's own (sftp-server, scp), so its pipe is
// written with raw calls (rawio.PipeWriter): no user code holds the lock of its pipes.
func copyInput(pools *copyPools, dst *os.File, ch ssh.Channel, closeOnEOF, ownProgram bool) {
	var w io.Writer = dst
	if ownProgram {
		w = rawio.PipeWriter(dst)
	}
	// With a large buffer, one write to the pipe carries several SSH packets.
	_, _ = pools.copyStream(w, ch) // ends at EOF, a closed channel, or a gone program
	if closeOnEOF {
		dst.Close()
	}
}

// copyOutput moves one output pipe to the channel until every writer of the pipe is
// gone (as OpenSSH does, a background job that keeps stdout open keeps the session open)
// or hangUp closes the pipe. ownProgram is copyInput's.
func copyOutput(pools *copyPools, dst io.Writer, src *os.File, ownProgram bool) {
	var r io.Reader = src
	if ownProgram {
		r = rawio.PipeReader(src)
	}
	_, _ = pools.copyStream(dst, r) // a write error means the client is gone
	src.Close()
}

// copyTerminalOutput moves the terminal's output to the channel, byte for byte: the
// kernel's line discipline already did whatever output processing the program asked for.
func (p *process) copyTerminalOutput(pools *copyPools, ch ssh.Channel) {
	buf := pools.buffer()
	defer buf.release()
	for {
		if p.exited.Load() {
			now := time.Now()
			if now.Sub(time.Unix(0, p.exitAt.Load())) > ptyDrainMax {
				return
			}
			_ = p.tty.master.SetReadDeadline(now.Add(ptyDrainIdle))
		}
		n, err := p.tty.master.Read(buf.bytes())
		if n > 0 {
			if _, werr := ch.Write(buf.bytes()[:n]); werr != nil {
				return
			}
			buf.filled(n)
		}
		if err != nil {
			return // EIO once no process holds the terminal (creack/pty#100), or the drain deadline
		}
	}
}

// wait waits for the program to exit and for its output to be drained, then releases
// the terminal, which hangs up any background job still attached to it.
func (p *process) wait() exitResult {
	// First wait without reaping: until cmd.Wait reaps it, the exited program keeps its
	// pid, and so its process group id, from being reused, and signal and hangUp, which
	// hold killMu, can never reach an unrelated group that got the number.
	awaitExit(p.cmd.Process.Pid)
	p.killMu.Lock()
	p.exitAt.Store(time.Now().UnixNano())
	p.exited.Store(true)
	p.killMu.Unlock()
	err := p.cmd.Wait()
	ownChildren.forget(p.cmd.Process.Pid)
	if p.tty != nil {
		_ = p.tty.master.SetReadDeadline(time.Now().Add(ptyDrainIdle)) // wake a blocked read
	}
	p.outDone.Wait()
	if p.tty != nil {
		p.tty.close()
	}
	return exitResultOf(p.cmd.ProcessState, err)
}

func exitResultOf(state *os.ProcessState, waitErr error) exitResult {
	if state == nil {
		return exitResult{status: 255}
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if !ok {
		return exitResult{status: uint32(state.ExitCode())}
	}
	if ws.Signaled() {
		return exitResult{signal: signalName(ws.Signal()), coreDumped: ws.CoreDump()}
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return exitResult{status: 255}
	}
	return exitResult{status: uint32(ws.ExitStatus())}
}

// hangUp is what a closed channel does to a program still running: SIGHUP to its process
// group (closing the terminal does the same for a pty session), as a terminal hangup would.
// Programs started with nohup or setsid survive it, as the user intended. It also closes
// the agent's ends of the pipes, so that a detached job holding them (or not reading its
// stdin) cannot keep the session alive.
func (p *process) hangUp() {
	p.hangup.Do(func() {
		_ = p.killGroup(syscall.SIGHUP) // the group may be gone already
		if p.tty != nil {
			p.tty.master.Close() // the kernel's hangup reaches the terminal's foreground jobs too
		}
		for _, f := range p.outputs {
			f.Close()
		}
		if p.logs != nil {
			// Not closed at once: a transfer program that sees its input end reports
			// the files it still had open, which the audit log must get. The deadline
			// bounds how long a program that holds the descriptor can keep the
			// session.
			_ = p.logs.SetReadDeadline(time.Now().Add(programLogDrain))
			// Such a program ignores SIGHUP and ends when its input does; one stuck in
			// the kernel (opening a FIFO no one writes) never would, and would hold its
			// session and connection forever. Once the drain time is over, it is killed.
			time.AfterFunc(programLogDrain, func() { _ = p.killGroup(syscall.SIGKILL) })
		}
		if p.stdin != nil {
			p.stdin.Close() // unblocks copyInput stuck writing to a full pipe
		}
	})
}

// signal delivers a client's "signal" request (RFC 4254 §6.9) to the program's process
// group, as Ctrl-C on a terminal would.
func (p *process) signal(name string) bool {
	sig, ok := signalsByName[name]
	return ok && p.killGroup(sig) == nil
}

// killGroup sends sig to the program's process group while the program has not been
// reaped (see wait).
func (p *process) killGroup(sig syscall.Signal) error {
	p.killMu.Lock()
	defer p.killMu.Unlock()
	if p.exited.Load() {
		return errors.New("program has exited")
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// awaitExit blocks until the process pid has exited, leaving it unreaped (WNOWAIT).
func awaitExit(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return // on any other error, cmd.Wait reports what happened
		}
	}
}

// signalsByName are the signals RFC 4254 §6.10 names.
var signalsByName = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// signalName is the RFC 4254 name of sig. A signal the RFC does not list gets a name in
// the "@openssh.com" namespace, as OpenSSH does for those (RFC 4250 §4.6.1 reserves the
// plain names).
func signalName(sig syscall.Signal) string {
	for name, s := range signalsByName {
		if s == sig {
			return name
		}
	}
	return fmt.Sprintf("SIG%d@openssh.com", int(sig))
}
