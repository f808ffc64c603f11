package agent

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file starts a session's program: on a terminal when the client asked for one and
// the program uses it (shell, exec), on pipes otherwise. process.go then moves its bytes
// and waits for it.

// startProcess starts the session's program as the served account, in the account's
// home, with the session's environment.
func (s *Server) startProcess(sess *session, prog program) (*process, error) {
	if sess.ptyReq != nil && prog.usesTerminal {
		return s.startOnTerminal(sess, prog)
	}
	return s.startOnPipes(sess, prog)
}

// startOnTerminal starts prog with a new terminal, sized and set up as the client's
// pty-req asked, as its stdin, stdout, stderr and controlling terminal.
func (s *Server) startOnTerminal(sess *session, prog program) (*process, error) {
	tty, err := s.openSessionTerminal(sess)
	if err != nil {
		return nil, err
	}
	cmd := s.programCommand(sess, prog, sess.ptyReq.Term, tty.name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty.slave, tty.slave, tty.slave
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0 // the child's stdin
	if err := ownChildren.start(cmd); err != nil {
		tty.close()
		return nil, s.startError(prog, err)
	}
	tty.closeSlave()
	p := &process{cmd: cmd, tty: tty}
	sess.copiers.Add(1)
	go func() { defer sess.copiers.Done(); copyInput(&s.copyBuffers, tty.master, sess.ch, false, false) }()
	p.outDone.Add(1)
	go func() { defer p.outDone.Done(); p.copyTerminalOutput(&s.copyBuffers, sess.ch) }()
	return p, nil
}

// openSessionTerminal opens a terminal for the account with the size and modes of the
// session's pty-req. Modes the kernel refuses are only logged, as sshd does.
func (s *Server) openSessionTerminal(sess *session) (*terminal, error) {
	req := sess.ptyReq
	tty, err := openTerminal(s.account.UID, s.account.GID, s.credential != nil)
	if err != nil {
		return nil, err
	}
	if err := tty.setSize(req.Cols, req.Rows, req.Width, req.Height); err != nil {
		tty.close()
		return nil, fmt.Errorf("set terminal size: %w", err)
	}
	if err := applyTerminalModes(tty, []byte(req.Modes)); err != nil {
		sess.log.Debug("apply terminal modes", "err", err)
	}
	return tty, nil
}

// startOnPipes starts prog with pipes for stdin, stdout and stderr, and descriptor 3 for
// a program that logs there. Stdin is a pipe we write, never the channel itself: with
// cmd.Stdin set to the channel, Wait blocks until the client sends more input
// (golang/go#7990, gliderlabs/ssh#219).
func (s *Server) startOnPipes(sess *session, prog program) (*process, error) {
	pp, err := openProgramPipes(prog.logsOnFD3)
	if err != nil {
		return nil, err
	}
	cmd := s.programCommand(sess, prog, "", "")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pp.stdinR, pp.stdoutW, pp.stderrW
	if pp.logW != nil {
		cmd.ExtraFiles = []*os.File{pp.logW} // descriptor 3 in the child
	}
	if err := ownChildren.start(cmd); err != nil {
		pp.closeAll()
		return nil, s.startError(prog, err)
	}
	pp.closeProgramEnds()
	p := &process{cmd: cmd, stdin: pp.stdinW, outputs: []*os.File{pp.stdoutR, pp.stderrR}, logs: pp.logR}
	if pp.logR != nil {
		log := sess.log.With("session", prog.kind)
		p.outDone.Add(1)
		go func() { defer p.outDone.Done(); logProgramLines(pp.logR, log) }()
	}
	// Raw calls on a pipe wait for whatever its other end's process waits for while
	// the kernel copies its bytes (internal/rawio.Usable): only the pipes of this
	// binary's own transfer programs, the ones that log on descriptor 3, are raw.
	own := prog.logsOnFD3
	sess.copiers.Add(1)
	go func() { defer sess.copiers.Done(); copyInput(&s.copyBuffers, pp.stdinW, sess.ch, true, own) }()
	p.outDone.Add(2)
	go func() { defer p.outDone.Done(); copyOutput(&s.copyBuffers, sess.ch, pp.stdoutR, own) }()
	go func() { defer p.outDone.Done(); copyOutput(&s.copyBuffers, sess.ch.Stderr(), pp.stderrR, own) }()
	return p, nil
}

// programCommand is the command that runs prog as the account, in its home, with the
// session's environment; term and ttyName are the terminal's, or "" without one.
func (s *Server) programCommand(sess *session, prog program, term, ttyName string) *exec.Cmd {
	acct := s.account
	return &exec.Cmd{
		Path: prog.path,
		Args: prog.args,
		Env:  sessionEnv(s.environ, acct, term, ttyName, sess.authSock, sess.ends, append(slices.Clone(sess.clientEnv), sess.keyEnv...)),
		Dir:  workingDir(acct.Home),
		// A new session (and process group) per program: signals and hangup reach the
		// program and its children, and nothing of the agent's terminal leaks in.
		// Pdeathsig tells the program when the agent dies (spawn_linux.go).
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Credential: s.credential, Pdeathsig: parentDeathSignal(prog.kind)},
	}
}

// startError says which program could not be started for whom.
func (s *Server) startError(prog program, err error) error {
	return fmt.Errorf("start %s for %s: %w", prog.path, s.account.Name, err)
}

// workingDir is home, or / when home is missing (OpenSSH says "Could not chdir to home
// directory" and carries on from / too).
func workingDir(home string) string {
	if st, err := os.Stat(home); err == nil && st.IsDir() {
		return home
	}
	return "/"
}

// programPipes are the pipes between the agent and a program without a terminal. The
// program gets stdinR, stdoutW, stderrW and logW (its descriptor 3); the agent keeps
// stdinW, stdoutR, stderrR and logR.
type programPipes struct {
	stdinR, stdinW   *os.File
	stdoutR, stdoutW *os.File
	stderrR, stderrW *os.File
	logR, logW       *os.File // nil unless the program logs on descriptor 3
}

// openProgramPipes creates the pipes, with the log pipe when withLog is set. On failure
// it closes whatever it had created.
func openProgramPipes(withLog bool) (pp *programPipes, err error) {
	pp = &programPipes{}
	defer func() {
		if err != nil {
			pp.closeAll()
			pp, err = nil, fmt.Errorf("create pipe: %w", err)
		}
	}()
	if pp.stdinR, pp.stdinW, err = os.Pipe(); err != nil {
		return pp, err
	}
	if pp.stdoutR, pp.stdoutW, err = os.Pipe(); err != nil {
		return pp, err
	}
	if pp.stderrR, pp.stderrW, err = os.Pipe(); err != nil {
		return pp, err
	}
	if withLog {
		if pp.logR, pp.logW, err = os.Pipe(); err != nil {
			return pp, err
		}
	}
	growPipe(pp.stdinW) // best effort: a smaller pipe is only slower
	growPipe(pp.stdoutW)
	return pp, nil
}

// closeProgramEnds closes the program's ends once it has started with its own copies:
// the agent's reads then see EOF when the program (and whatever inherited them) is gone.
func (pp *programPipes) closeProgramEnds() {
	closeFiles(pp.stdinR, pp.stdoutW, pp.stderrW, pp.logW)
}

// closeAll closes both ends of every pipe, for a program that did not start.
func (pp *programPipes) closeAll() {
	closeFiles(pp.stdinR, pp.stdinW, pp.stdoutR, pp.stdoutW, pp.stderrR, pp.stderrW, pp.logR, pp.logW)
}

// closeFiles closes each file that is not nil; closing a pipe end has nothing to report.
func closeFiles(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// growPipe asks for a pipeSize buffer on the pipe whose write end is w.
func growPipe(w *os.File) {
	if rc, err := w.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
	}
}
