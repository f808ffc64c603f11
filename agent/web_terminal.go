package agent

import (
	"fmt"
	"net"
	"sync"
)

// This file starts a login shell for a browser (the web package's /terminal): the same
// session as an SSH "pty-req" then "shell" (session_start.go, process_start.go), with a
// webChannel in place of the SSH channel. The shell gets the account's credentials, the
// container environment, TERM=xterm-256color, a pty, the hangup and reaping of an SSH
// session, and the audit events session.start and session.end with transport=web.

// WebTerminalTerm is the TERM of a web terminal: xterm.js implements xterm's 256
// colours.
const WebTerminalTerm = "xterm-256color"

// WebTerminalRequest is what the web side knows of the browser that asks for a shell.
type WebTerminalRequest struct {
	// Remote is the HTTP peer (or the client a trusted proxy names): the session's
	// remote in the log and the client in SSH_CONNECTION.
	Remote net.Addr
	// Local is the address the HTTP server accepted on, for SSH_CONNECTION; it may be
	// a unix socket, whose host and port are then empty.
	Local net.Addr
	// Cols and Rows are the terminal's first size; 0 leaves the kernel's default.
	Cols, Rows uint16
}

// WebTerminal is one browser's login shell. Read its output until io.EOF, write its
// input, Resize it; HangUp ends it as a closed SSH channel ends a session. Its methods
// are safe for concurrent use. Every WebTerminal must be ended: by its shell's exit
// (Done is then closed) or by HangUp.
type WebTerminal struct {
	srv    *Server
	sess   *session
	ch     *webChannel
	hangup chan struct{}
	once   sync.Once
	ended  chan struct{} // closed once the shell is gone and everything is released
}

// webTerminalCount bounds the web terminals open at once. Everyone who holds the web
// token is the same account, as every session of one SSH connection is, so all web
// terminals together get what one SSH connection gets: Config.MaxSessions (64 by
// default). A shell kept for a browser that may reconnect still counts.
type webTerminalCount struct {
	mu   sync.Mutex
	open int
}

func (c *webTerminalCount) take(max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open >= max {
		return false
	}
	c.open++
	return true
}

func (c *webTerminalCount) give() {
	c.mu.Lock()
	c.open--
	c.mu.Unlock()
}

// StartWebTerminal starts a login shell as the account on a new terminal for a
// browser. It fails when --max-sessions web terminals are already open or the agent is
// short of descriptors; a shell that cannot be executed is reported in its output, as
// for SSH, and ends with status 127.
func (s *Server) StartWebTerminal(req WebTerminalRequest) (*WebTerminal, error) {
	if !s.webTerminals.take(s.cfg.MaxSessions) {
		return nil, fmt.Errorf("too many web terminals open (at most %d, --max-sessions): close a tab or wait for a detached one to time out", s.cfg.MaxSessions)
	}
	if !s.descriptors.acquire(classSession) {
		s.webTerminals.give()
		return nil, errNoDescriptors
	}
	if req.Remote == nil || req.Local == nil {
		s.webTerminals.give()
		s.descriptors.release(classSession)
		return nil, fmt.Errorf("start web terminal: the browser's and the listener's addresses are required")
	}
	ch := newWebChannel()
	log := s.log.With("transport", "web", "remote", req.Remote.String(), "user", s.account.Name)
	sess := &session{srv: s, ends: endpointsOf(req.Remote, req.Local), ch: ch, log: log, done: make(chan struct{}),
		ptyReq: &ptyRequest{Term: WebTerminalTerm, Cols: uint32(req.Cols), Rows: uint32(req.Rows)}}
	sess.startRequested("shell", "") // always true: a failed start is reported in the output
	sess.afterReply()
	t := &WebTerminal{srv: s, sess: sess, ch: ch, hangup: make(chan struct{}), ended: make(chan struct{})}
	go t.run()
	return t, nil
}

// run owns the session until it is gone: its program's exit, or a hangup first.
// This is the order handleSession (session.go) follows when an SSH channel closes.
func (t *WebTerminal) run() {
	defer close(t.ended)
	sess, s := t.sess, t.srv
	released := false
	release := func() { // the place among web terminals, given back once
		if !released {
			released = true
			s.webTerminals.give()
		}
	}
	select {
	case <-sess.done: // the shell ended; finish closed the channel
	case <-t.hangup:
		t.ch.closeFromClient()
		if sess.proc != nil {
			sess.proc.hangUp()
			s.awaitHungUp(sess, release) // lingering.go: a shell that ignores SIGHUP
		}
		<-sess.done
	}
	sess.copiers.Wait()
	s.descriptors.release(classSession)
	release()
}

// Read reads the terminal's output; it returns io.EOF once the shell has ended and all
// of its output was read. Until Read is called, the shell's output waits in its pty.
func (t *WebTerminal) Read(p []byte) (int, error) { return t.ch.outR.Read(p) }

// Write sends keyboard input to the shell; it blocks while the shell does not read.
func (t *WebTerminal) Write(p []byte) (int, error) { return t.ch.inW.Write(p) }

// Resize sets the terminal's size; the shell's foreground job gets SIGWINCH.
func (t *WebTerminal) Resize(cols, rows uint16) error {
	if t.sess.proc == nil || t.sess.proc.tty == nil {
		return fmt.Errorf("resize web terminal: the shell did not start")
	}
	return t.sess.proc.tty.setSize(uint32(cols), uint32(rows), 0, 0)
}

// HangUp ends the terminal as a closed SSH channel ends a session: SIGHUP to the
// shell's process group and the pty closed. It does not wait; Done is closed once
// everything is gone.
func (t *WebTerminal) HangUp() { t.once.Do(func() { close(t.hangup) }) }

// Done is closed once the shell has ended (by itself or after HangUp) and the
// terminal's resources are released.
func (t *WebTerminal) Done() <-chan struct{} { return t.ended }

// ExitStatus is how the shell ended, once Done is closed: an exit status, or the name
// of the signal that killed it (RFC 4254 §6.10 names, "HUP" after a hangup).
func (t *WebTerminal) ExitStatus() (status uint32, signal string) { return t.ch.exitResult() }
