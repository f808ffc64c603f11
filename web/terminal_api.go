package web

import (
	"io"
	"net"
)

// Terminals starts login shells as the account for /terminal (terminal.go). main wires
// it to the agent, which starts the shell through the same path as an SSH pty session
// (agent/web_terminal.go). A nil Terminals in Config makes /terminal answer 501.
type Terminals interface {
	// StartTerminal starts a login shell in a pty for the browser the request
	// describes. It fails when the agent's bound on shells is reached.
	StartTerminal(req TerminalRequest) (Terminal, error)
}

// TerminalRequest is what the agent needs to start a browser's shell.
type TerminalRequest struct {
	// Remote is the browser's address (clientTCPAddr: the peer, or the first
	// X-Forwarded-For entry of a trusted proxy); Local is the listener's. They are
	// the session's remote in the log and SSH_CONNECTION.
	Remote, Local net.Addr
	Cols, Rows    uint16 // the first size, 1..maxTerminalSide
}

// Terminal is one running login shell in a pty.
type Terminal interface {
	io.Reader // the pty's output; io.EOF once the shell and its output are done
	io.Writer // the pty's input; it blocks while the shell does not read
	// Resize sets the window size (TIOCSWINSZ), which sends SIGWINCH.
	Resize(cols, rows uint16) error
	// HangUp ends the shell as a closed SSH session would (SIGHUP, pty closed); it
	// does not wait. Done is closed once the shell is reaped and released.
	HangUp()
	Done() <-chan struct{}
	// ExitStatus is how the shell ended, once Done is closed: an exit status, or
	// the name of the signal that killed it ("HUP" after a hangup).
	ExitStatus() (status uint32, signal string)
}
