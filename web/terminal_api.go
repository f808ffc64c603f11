package web

import (
	"context"
	"io"
	"net"
)

// Terminals starts login shells as the account for /terminal (terminal.go). main wires
// it to the agent, which starts the shell through the same path as an SSH pty session.
// A nil Terminals in Config makes /terminal answer 501.
type Terminals interface {
	// StartTerminal starts a login shell in a pty of rows×cols for the browser at
	// remote. The shell runs until Close or until it exits.
	StartTerminal(ctx context.Context, rows, cols int, remote net.Addr) (Terminal, error)
}

// Terminal is one running login shell in a pty.
type Terminal interface {
	io.Reader // the pty's output; io.EOF once the shell and its output are done
	io.Writer // the pty's input
	// Resize sets the window size (TIOCSWINSZ), which sends SIGWINCH.
	Resize(rows, cols int) error
	// Close hangs the shell up as a closed SSH session would, and reaps it.
	Close() error
}
