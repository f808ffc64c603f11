package agent

import (
	"errors"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"
)

// webChannel stands in for the ssh.Channel of a session whose client is a browser
// (web_terminal.go), so that a web terminal runs through the very code an SSH pty
// session runs through: session.start, startProcess, copyInput, copyTerminalOutput,
// wait, finish and hangUp all see an ssh.Channel and behave as they do for SSH.
//
// Both directions are synchronous pipes with no buffer of their own: a write of the
// terminal's output returns only once the web side has taken it, so the pty is read
// only as fast as the browser's socket drains (a `yes` nobody reads stalls in the
// kernel's pty buffer, not in the agent's memory), and the browser's input reaches the
// shell only as fast as the shell reads it.
type webChannel struct {
	inR  *io.PipeReader // the shell's input, as copyInput reads it
	inW  *io.PipeWriter // written by WebTerminal.Write
	outR *io.PipeReader // read by WebTerminal.Read
	outW *io.PipeWriter // the terminal's output, as copyTerminalOutput writes it

	mu         sync.Mutex
	exitStatus uint32 // set by finish through SendRequest
	exitSignal string
}

// errTerminalClosed is what the shell's side sees once the browser's side is gone.
var errTerminalClosed = errors.New("web terminal closed")

func newWebChannel() *webChannel {
	c := &webChannel{}
	c.inR, c.inW = io.Pipe()
	c.outR, c.outW = io.Pipe()
	return c
}

// Read is the browser's keyboard input.
func (c *webChannel) Read(p []byte) (int, error) { return c.inR.Read(p) }

// Write hands the terminal's output to the web side, blocking until it is taken.
func (c *webChannel) Write(p []byte) (int, error) { return c.outW.Write(p) }

// CloseWrite is the end of the output (an SSH EOF): the web side's Read returns io.EOF.
func (c *webChannel) CloseWrite() error { return c.outW.Close() }

// Close ends both directions, as closing an SSH channel does.
func (c *webChannel) Close() error {
	c.inR.CloseWithError(errTerminalClosed)
	c.outW.CloseWithError(errTerminalClosed)
	return nil
}

// closeFromClient is the browser side's end, the counterpart of the client's CLOSE on
// an SSH channel: reads of input and writes of output fail from now on.
func (c *webChannel) closeFromClient() {
	c.inW.CloseWithError(errTerminalClosed)
	c.outR.CloseWithError(errTerminalClosed)
}

// SendRequest records how the program ended (RFC 4254 §6.10 exit-status and
// exit-signal, which finish sends); the web side reports it to the page.
func (c *webChannel) SendRequest(name string, _ bool, payload []byte) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch name {
	case "exit-status":
		var m struct{ Status uint32 }
		if err := ssh.Unmarshal(payload, &m); err != nil {
			return false, err
		}
		c.exitStatus, c.exitSignal = m.Status, ""
	case "exit-signal":
		var m struct {
			Signal        string
			CoreDumped    bool
			Message, Lang string
		}
		if err := ssh.Unmarshal(payload, &m); err != nil {
			return false, err
		}
		c.exitStatus, c.exitSignal = 0, m.Signal
	}
	return false, nil
}

func (c *webChannel) exitResult() (uint32, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exitStatus, c.exitSignal
}

// Stderr is where start reports a program that could not start; a terminal has one
// stream, so it is the output. Reading it (discardBuffered) finds nothing.
func (c *webChannel) Stderr() io.ReadWriter { return webStderr{c} }

type webStderr struct{ c *webChannel }

func (s webStderr) Read([]byte) (int, error)    { return 0, io.EOF }
func (s webStderr) Write(p []byte) (int, error) { return s.c.Write(p) }

var _ ssh.Channel = (*webChannel)(nil)
