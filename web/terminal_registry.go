package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// sessionIDLength is the length of a session id: 32 random bytes, base64url without
// padding. The id is what lets a page reattach to its shell; it is unguessable, and
// useless without the token the shell was started with.
const sessionIDLength = 43

// maxTerminalSessions bounds the shells kept here, running or ended but not yet told
// to their page (the agent bounds the running ones by --max-sessions): each holds
// replayBytes of output, so at most 16 MiB in all.
const maxTerminalSessions = 128

// terminals holds the browsers' shells by session id, from their start until they
// have ended and the page has been told, or until their page stayed away longer than
// reconnect.
type terminals struct {
	start     func(TerminalRequest) (Terminal, error)
	reconnect time.Duration
	log       *slog.Logger
	// pingEvery and pingTimeout are the sockets' keepalive (terminal_socket.go); tests
	// shorten them.
	pingEvery, pingTimeout time.Duration

	mu       sync.Mutex
	sessions map[string]*termSession
	starting int // shells being started, not yet in sessions
	closed   bool
	pumps    sync.WaitGroup // one per session
}

func newTerminals(start func(TerminalRequest) (Terminal, error), reconnect time.Duration, log *slog.Logger) *terminals {
	return &terminals{start: start, reconnect: reconnect, log: log, pingEvery: pingEvery, pingTimeout: pingTimeout, sessions: map[string]*termSession{}}
}

// errShuttingDown is why no shell starts once the web server is shutting down.
var errShuttingDown = &protocolError{websocket.StatusGoingAway, "the agent is shutting down"}

// open starts a shell for owner and registers it.
func (t *terminals) open(owner [32]byte, req TerminalRequest) (*termSession, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return nil, errShuttingDown
	case len(t.sessions)+t.starting >= maxTerminalSessions:
		t.mu.Unlock()
		return nil, &protocolError{closeTooMany, "too many web terminals kept for reconnection: close some tabs"}
	}
	t.starting++
	t.mu.Unlock()
	sh, err := t.start(req)
	t.mu.Lock()
	t.starting--
	if err != nil {
		t.mu.Unlock()
		return nil, err
	}
	s := newTermSession(id, owner, sh)
	if t.closed {
		t.mu.Unlock()
		sh.HangUp()
		<-sh.Done()
		return nil, errShuttingDown
	}
	t.sessions[id] = s
	t.pumps.Add(2)
	t.mu.Unlock()
	go func() { defer t.pumps.Done(); s.pump() }()
	go func() { defer t.pumps.Done(); s.feed() }()
	return s, nil
}

// find returns the shell with id if owner started it, else nil: a session id is no use
// with another token.
func (t *terminals) find(id string, owner [32]byte) *termSession {
	t.mu.Lock()
	s := t.sessions[id]
	t.mu.Unlock()
	if s == nil || subtle.ConstantTimeCompare(s.owner[:], owner[:]) != 1 {
		return nil
	}
	return s
}

// remove forgets a shell whose page was told it ended.
func (t *terminals) remove(s *termSession) {
	t.mu.Lock()
	delete(t.sessions, s.id)
	t.mu.Unlock()
}

// expire hangs up a shell whose page stayed away for reconnect, as a closed SSH
// channel is hung up, and forgets it.
func (t *terminals) expire(s *termSession) {
	if !s.detached() {
		return
	}
	t.log.Info("web terminal not reattached in time; hanging up its shell", "event", "web.terminal.expire", "after", t.reconnect)
	s.hangUp()
	t.remove(s)
}

// shutdown hangs up every shell and waits until they are gone or ctx is done.
func (t *terminals) shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	all := make([]*termSession, 0, len(t.sessions))
	for _, s := range t.sessions {
		all = append(all, s)
	}
	t.mu.Unlock()
	for _, s := range all {
		s.hangUp()
	}
	done := make(chan struct{})
	go func() { t.pumps.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
