package agent

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// StatusLive are status.json's figures about use, so that a platform can tell whether
// anyone uses a job before it stops an idle one (README "status.json").
//
// Activity is what a person or their tools do through the agent: a login or a client
// leaving, a session opened or closed, and data on a channel the client opened (a session's input or
// output, sftp and scp included, a forwarded connection of ssh -L or -D), in either
// direction. Keepalives are not activity (ssh's ServerAliveInterval, the agent's own
// client-alive probes): an idle terminal left open is idle, and Connections and
// Sessions say that it is open. Data on connections the agent opens towards the
// client (ssh -R, agent forwarding) is not counted either: it follows what a session
// does.
type StatusLive struct {
	// Connections are the logged-in connections whose client is still there.
	Connections int `json:"connections"`
	// Sessions are the session channels open (shells, commands, sftp, scp).
	Sessions int `json:"sessions"`
	// LastActivity is the time of the last activity, to the second (RFC 3339, UTC);
	// absent when there was none since the agent started (see started_at).
	LastActivity string `json:"last_activity,omitempty"`
}

// liveStatus keeps the live figures and rewrites status.json when they change, at most
// once per Config.StatusRefresh. A file rather than a control socket: platforms and
// entrypoint.sh already read status.json, with no client beyond cat, and a socket
// would be one more thing listening beside the job. The cost is the rewrite (a
// temporary file, fsync, rename): none while nothing changes, since the writer sleeps
// until a change wakes it, and one write per StatusRefresh during a transfer, whose
// data path pays one clock read per channel read or write (BENCHMARKS.md, "status.json
// live figures"). 5 s keeps that negligible while an idle check, which platforms make
// in minutes, sees each change well in time.
type liveStatus struct {
	refresh time.Duration
	now     func() time.Time
	write   func(StatusLive) // rewrites status.json with these figures

	connections, sessions atomic.Int64
	lastActivity          atomic.Int64 // Unix seconds; 0 means none yet

	kick chan struct{} // a change waits to be written; buffered, one is enough
	stop chan struct{} // closed by halt
	done chan struct{} // closed when run returns
	once sync.Once
}

func newLiveStatus(refresh time.Duration, now func() time.Time) *liveStatus {
	return &liveStatus{refresh: refresh, now: now, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// figures is what status.json says now.
func (l *liveStatus) figures() StatusLive {
	f := StatusLive{Connections: int(l.connections.Load()), Sessions: int(l.sessions.Load())}
	if t := l.lastActivity.Load(); t != 0 {
		f.LastActivity = time.Unix(t, 0).UTC().Format(time.RFC3339)
	}
	return f
}

// touch records activity now. It is on the data path: a clock read, and a store and a
// wake-up only when the second has changed.
func (l *liveStatus) touch() {
	if now := l.now().Unix(); l.lastActivity.Load() != now {
		l.lastActivity.Store(now)
		l.changed()
	}
}

// add changes a count by delta; opening and closing are activity.
func (l *liveStatus) add(count *atomic.Int64, delta int64) {
	count.Add(delta)
	l.lastActivity.Store(l.now().Unix())
	l.changed()
}

func (l *liveStatus) changed() {
	select {
	case l.kick <- struct{}{}:
	default: // a write is coming anyway
	}
}

// run writes the figures after each change, at most once per refresh, until halt.
// written is what status.json said when run started.
func (l *liveStatus) run(written StatusLive) {
	defer close(l.done)
	var last time.Time
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			return
		}
		// The real clock, not l.now (a test's may stand still): this is a rate.
		if wait := l.refresh - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-l.stop:
				t.Stop()
				return
			}
		}
		if f := l.figures(); f != written {
			last, written = time.Now(), f
			l.write(f)
		}
	}
}

// halt stops run and waits for it, so that no write follows; safe to call more than
// once, and when run never started (started false).
func (l *liveStatus) halt(started bool) {
	l.once.Do(func() { close(l.stop) })
	if started {
		<-l.done
	}
}

// activeNewChannel makes the data on its channel, once accepted, count as activity.
type activeNewChannel struct {
	ssh.NewChannel
	live *liveStatus
}

func (nc activeNewChannel) Accept() (ssh.Channel, <-chan *ssh.Request, error) {
	ch, reqs, err := nc.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	return activeChannel{Channel: ch, live: nc.live}, reqs, nil
}

// activeChannel is a channel whose reads and writes are activity.
type activeChannel struct {
	ssh.Channel
	live *liveStatus
}

func (ch activeChannel) Read(p []byte) (int, error) {
	n, err := ch.Channel.Read(p)
	if n > 0 {
		ch.live.touch()
	}
	return n, err
}

func (ch activeChannel) Write(p []byte) (int, error) {
	n, err := ch.Channel.Write(p)
	if n > 0 {
		ch.live.touch()
	}
	return n, err
}

func (ch activeChannel) Stderr() io.ReadWriter {
	return activeStream{ReadWriter: ch.Channel.Stderr(), live: ch.live}
}

// activeStream is a channel's extended data stream (stderr), whose writes are activity.
type activeStream struct {
	io.ReadWriter
	live *liveStatus
}

func (s activeStream) Write(p []byte) (int, error) {
	n, err := s.ReadWriter.Write(p)
	if n > 0 {
		s.live.touch()
	}
	return n, err
}

// startLiveStatus starts rewriting status.json, whose first version st Listen wrote,
// as the live figures change; Shutdown stops it.
func (s *Server) startLiveStatus(st Status) {
	s.statusBase.set(st)
	s.live.write = func(f StatusLive) {
		s.statusBase.mu.Lock()
		defer s.statusBase.mu.Unlock()
		next := s.statusBase.st // with the host keys added since (host_keys_later.go)
		next.Live = f
		if err := s.writeStatus(next); err != nil {
			s.log.Warn("update status.json's live figures", "err", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return // Shutdown came first and removes status.json
	}
	s.liveStarted = true
	go s.live.run(st.Live)
}
