package web

import "github.com/coder/websocket"

// maxPendingInput bounds the page's input that the shell has not taken yet. A program
// that does not read its terminal (busy, stopped, or a paste larger than it reads)
// must not stop the socket's reader: acks, resizes and the answers to the agent's
// pings come behind the input. So the input waits here, for the session's feeder, and
// past this bound the socket is closed with closeInputNotRead, as an SSH client's
// window stops it sending. 256 KiB is four of the page's largest messages
// (maxTerminalMessage); 16 MiB for the 64 shells --max-sessions allows by default.
const maxPendingInput = 256 << 10

// closeInputNotRead: the page sent more input than maxPendingInput while the shell's
// program did not read it. The input queued before stays queued; the page reconnects
// to the same shell (terminal.js), and the user sees that the last input was dropped.
const closeInputNotRead websocket.StatusCode = 4413

// errInputNotRead refuses input past maxPendingInput.
var errInputNotRead = &protocolError{closeInputNotRead, "input dropped: the program in the terminal has not read 256 KiB of earlier input"}

// queueInput hands the page's input to the feeder, or refuses it past
// maxPendingInput.
func (s *termSession) queueInput(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inputPending+len(p) > maxPendingInput {
		return errInputNotRead
	}
	s.input = append(s.input, p...)
	s.inputPending += len(p)
	s.cond.Broadcast()
	return nil
}

// feed writes the queued input to the shell, in order, until the shell ends: its Write
// then fails (the SSH channel's input pipe is closed), or the wait ends on s.ended.
func (s *termSession) feed() {
	for {
		s.mu.Lock()
		for len(s.input) == 0 && !s.ended {
			s.cond.Wait() // woken by queueInput or the end of the shell
		}
		if len(s.input) == 0 { // ended
			s.mu.Unlock()
			return
		}
		p := s.input
		s.input = nil
		s.mu.Unlock()
		_, err := s.sh.Write(p)
		s.mu.Lock()
		s.inputPending -= len(p)
		s.mu.Unlock()
		if err != nil {
			return // the shell is gone: its input goes with it, as on a closed channel
		}
	}
}
