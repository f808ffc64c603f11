package web

import (
	"errors"
	"sync"
	"time"
)

const (
	// replayBytes is how much output a shell keeps for a page that reconnects: the
	// issue asks for at least 64 KiB; twice that costs 128 KiB per shell, 8 MiB for
	// the 64 shells --max-sessions allows by default.
	replayBytes = 128 << 10
	// flowWindow is how far the shell's output may run ahead of what the page has
	// acknowledged (terminal_protocol.go). Beyond it the pty is no longer read, so
	// the shell blocks in its write, as on a terminal whose user pressed Ctrl-S: a
	// `yes` in a tab nobody reads costs this much, not more. With readChunk it stays
	// below replayBytes, so output not yet acknowledged is never dropped from the
	// ring.
	flowWindow = 64 << 10
	// readChunk is what one read of the shell's output, and so one binary message,
	// carries at most.
	readChunk = 16 << 10
)

// errDetached tells a socket's sender that its socket is no longer the shell's.
var errDetached = errors.New("another socket took over the shell")

// termSession is one shell and the socket, if any, attached to it. A pump goroutine
// reads the shell's output into the ring, never more than flowWindow ahead of what
// the attached socket has sent; the socket's sender sends from the ring. With no
// socket attached, the shell waits for reconnectAfter, then is hung up.
type termSession struct {
	id    string
	owner [32]byte // the token the shell was started with (terminal_registry.go)
	sh    Terminal

	mu       sync.Mutex
	cond     *sync.Cond // signalled on output, progress, attach, detach and end
	ring     *outputRing
	sent     int64   // the offset up to which the current socket has sent, or is sending
	acked    int64   // the offset up to which its page has shown the output
	attached *socket // nil while no page is attached
	hungUp   bool    // hangUp was called: the pump stops waiting for a socket
	ended    bool    // the shell's output is complete (EOF) and its exit is known
	status   uint32
	signal   string
	expiry   *time.Timer // runs while detached; hangs the shell up
	// input is the page's input the feeder has not taken yet; inputPending counts it
	// and what the feeder is writing (terminal_input.go).
	input        []byte
	inputPending int
}

func newTermSession(id string, owner [32]byte, sh Terminal) *termSession {
	s := &termSession{id: id, owner: owner, sh: sh, ring: newOutputRing(replayBytes)}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// pump moves the shell's output into the ring until its end, at most flowWindow ahead
// of what the page acknowledged; then it records the exit.
func (s *termSession) pump() {
	buf := make([]byte, readChunk)
	for {
		s.mu.Lock()
		for s.ring.end-s.acked >= flowWindow && !s.hungUp {
			s.cond.Wait() // woken by an ack, a new socket, or hangUp
		}
		s.mu.Unlock()
		n, err := s.sh.Read(buf)
		s.mu.Lock()
		s.ring.write(buf[:n])
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			break // io.EOF after the shell's last output, or an error once hung up
		}
	}
	<-s.sh.Done()
	status, signal := s.sh.ExitStatus()
	s.mu.Lock()
	s.ended, s.status, s.signal = true, status, signal
	s.cond.Broadcast()
	s.mu.Unlock()
}

// attach makes sock the shell's socket from the page's offset on, replacing the one
// attached before (whose sender then stops with errDetached). It returns the offset
// the output it will send starts at: offset, or the oldest byte still held when the
// page missed more than the ring keeps; and how many bytes it replays at once.
func (s *termSession) attach(sock *socket, offset int64) (from, replay int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.attached = sock
	s.sent = min(max(offset, s.ring.start()), s.ring.end)
	s.acked = s.sent
	s.cond.Broadcast()
	return s.sent, s.ring.end - s.sent
}

// detach ends sock's attachment, if it still is the shell's socket, and starts the
// reconnect timer, after which expire runs. It reports finished when the shell has
// ended and its page got all of its output: there is nothing left to wait for.
func (s *termSession) detach(sock *socket, reconnectAfter time.Duration, expire func()) (finished bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attached != sock {
		return false
	}
	s.attached = nil
	s.cond.Broadcast()
	if s.ended && s.sent == s.ring.end {
		return true
	}
	if s.hungUp {
		return false // the page said goodbye: nobody will reconnect
	}
	s.expiry = time.AfterFunc(reconnectAfter, expire)
	return false
}

// detached reports whether no socket is attached, for expire: a page that reattached
// just as the timer fired keeps its shell.
func (s *termSession) detached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attached == nil
}

// nextOutput waits for output that sock has not sent, copies it into buf and counts
// it as sent: before it is written, since the page may acknowledge it before the
// write returns. It returns n == 0 with done once the shell has ended and everything
// was sent, and errDetached once sock is no longer the shell's socket.
func (s *termSession) nextOutput(sock *socket, buf []byte) (n int, done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.attached != sock {
			return 0, false, errDetached
		}
		if s.sent < s.ring.end {
			// The flow window keeps unacknowledged output in the ring; should a
			// page ever lag further, it gets the oldest byte still held.
			s.sent = max(s.sent, s.ring.start())
			n := s.ring.read(s.sent, buf)
			s.sent += int64(n)
			return n, false, nil
		}
		if s.ended {
			return 0, true, nil
		}
		s.cond.Wait()
	}
}

// errBadAck is an acknowledgement of output the page was never sent, or one that goes
// back.
var errBadAck = &protocolError{closeBadMessage, "ack: offset outside what was sent since the last ack"}

// ack records that sock's page has shown the output up to offset.
func (s *termSession) ack(sock *socket, offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attached != sock {
		return nil // replaced: its sender is closing it
	}
	if offset < s.acked || offset > s.sent {
		return errBadAck
	}
	s.acked = offset
	s.cond.Broadcast()
	return nil
}

// hangUp ends the shell as a closed SSH channel ends a session; the pump then reads
// the rest of its output and its exit.
func (s *termSession) hangUp() {
	s.mu.Lock()
	s.hungUp = true
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	s.sh.HangUp()
}

// exit is how the shell ended, once nextOutput reported done.
func (s *termSession) exit() (uint32, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.signal
}
