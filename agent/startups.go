package agent

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Connections that have not logged in yet cost the agent a goroutine, a descriptor and
// buffers, and a stranger needs no key to open them. Holding 64 that sent only a version
// line once locked every user out for as long as they were held (issue 10, item 5).
// startups bounds them the way OpenSSH's MaxStartups does (sshd_config(5), "start:rate:
// full"), plus two defences of its own against connections that stall before the key
// exchange starts:
//
//   - Below startupsBegin (half of --max-unauthenticated) every connection is admitted.
//     From there to the full bound a new connection is refused with a probability that
//     rises linearly from startupsRate to 1 (random early drop), so that a flood cannot
//     count on a place being free.
//   - A connection must send its version line and its KEXINIT within preambleTimeout
//     (bufferedConn watches for them), not within the whole login grace time.
//   - Once startupsBegin connections wait, a newcomer first takes the place of the
//     one furthest from logging in (evictFurthest), if any may be evicted: the oldest
//     that has not completed its version line, else the oldest that has not sent its
//     KEXINIT, else the oldest that has sent nothing since its KEXINIT, else the one
//     idle longest of those that have been silent for idleEvictAfter. A real client
//     sends its version line at once, its KEXINIT one round trip later and its key
//     exchange packet (KEXDH_INIT) right after (OpenSSH does not wait for the user
//     before that), and then answers each server packet within a round trip; so what
//     is evicted is a peer that stalls. Evicted connections are held for a second
//     (evictedHold) before they are closed, so that a flood that reconnects at once
//     cannot evict at the rate it can connect. Random early drop alone lost every login to 100
//     slowloris peers that reconnect when dropped (they keep every place taken by a
//     fresh connection), and eviction only before KEXINIT lost it to 64 peers that sent
//     a valid KEXINIT and then stalled for the whole login grace time, reconnecting
//     when dropped (TestLoginDuringFlood). Random early drop applies when no one may
//     be evicted.
//     What this costs real users, and only while places are short: a client that
//     waits for its user before it authenticates (a host key to accept, a passphrase
//     to type) is silent for longer than idleEvictAfter, or not logged in
//     slowLoginEvictAfter after its KEXINIT, and may be evicted; and over a
//     slow link, a client whose KEXDH_INIT is still on its way when every older stalled
//     peer has been evicted. It reconnects, as after a refusal.
//     The short deadline cannot reach further into the key exchange: OpenSSH's client
//     asks the user to accept an unknown host key before it sends NEWKEYS.
//   - Opt-in (--max-unauthenticated-per-source): at most so many from one address (one
//     /64 for IPv6). Off by default: behind a platform's relay every user shares one.

// startupsRate is the probability of refusal at startupsBegin (OpenSSH's default 30).
const startupsRate = 0.3

// preambleTimeout bounds the time from accept to the client's KEXINIT; it is shorter
// when the login grace time is.
const preambleTimeout = 5 * time.Second

// evictedHold is how long an evicted connection is kept before it is closed; at most
// maxEvictedHeld are, beyond which they are closed at once. They count neither among
// the unauthenticated connections nor against --max-connections (heldCount), but each
// holds a goroutine, a read buffer and a descriptor meanwhile (descriptorReserve
// counts them). A flood of fewer connections than the unauthenticated places and the
// held ones together then evicts at most about as many a second as it has connections
// beyond the places; a larger one from one address is what the per-source bound is
// for.
const (
	evictedHold    = time.Second
	maxEvictedHeld = 256
)

// heldCount is how many evicted connections are being held (evictedHold).
func (st *startups) heldCount() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.held
}

// idleEvictAfter is how long a connection past its key exchange's first packets must
// have sent nothing before a newcomer may take its place, and slowLoginEvictAfter how
// long after its KEXINIT it may have been, whatever it sent since (see above). A key
// login takes well under a second of the client's time; more is a user at a prompt.
const (
	idleEvictAfter      = 3 * time.Second
	slowLoginEvictAfter = 10 * time.Second
)

// startups is the set of connections not logged in yet.
type startups struct {
	full, begin int
	perSource   int // 0: no per-source bound
	random      func() float64
	now         func() time.Time

	mu       sync.Mutex
	pending  map[*startup]struct{}
	bySource map[netip.Prefix]int
	held     int // evicted connections being held (evictedHold)
}

// startup is one connection in startups.
type startup struct {
	conn   net.Conn
	source netip.Prefix
	since  time.Time
	// The fields below are guarded by startups.mu.
	version    bool      // the client's version line arrived
	versionAt  time.Time // when
	kexInit    bool      // the client's KEXINIT arrived
	kexInitAt  time.Time // when
	progressed bool      // the client sent bytes after its KEXINIT
	lastActive time.Time // when it last sent bytes after its KEXINIT
	evicted    bool      // a newcomer took its place: release must not give it back
	held       bool      // evicted, and kept until evictedHold has passed
	// released is set once it logged in or failed; read without the lock on every read
	// of the connection, so that a logged-in connection's reads take no shared lock.
	released atomic.Bool
}

func newStartups(full, perSource int) *startups {
	return &startups{full: full, begin: max(1, full/2), perSource: perSource, random: rand.Float64, now: time.Now,
		pending: map[*startup]struct{}{}, bySource: map[netip.Prefix]int{}}
}

// sourceKey is the unit the per-source bound counts: the address, or its /64 for IPv6,
// which one host usually has whole.
func sourceKey(a netip.Addr) netip.Prefix {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// admit takes a place for c from src, or returns why it cannot (a message for the client
// and the log, which names the bound).
func (st *startups) admit(c net.Conn, src netip.Addr) (*startup, string) {
	key := sourceKey(src)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.perSource > 0 && st.bySource[key] >= st.perSource {
		return nil, fmt.Sprintf("too many unauthenticated connections from your address (%d)", st.perSource)
	}
	now := st.now()
	if n := len(st.pending); n >= st.begin {
		drop := n >= st.full || st.random() < startupsRate+(1-startupsRate)*float64(n-st.begin)/float64(st.full-st.begin)
		if drop && !st.evictFurthest(now) {
			return nil, fmt.Sprintf("too many unauthenticated connections (%d)", st.full)
		}
	}
	s := &startup{conn: c, source: key, since: now}
	st.pending[s] = struct{}{}
	st.bySource[key]++
	return s, ""
}

// evictFurthest closes the connection that has been stuck longest on its way to
// logging in and may be evicted, and frees its place; it reports whether there was one.
// Stuck is counted from the connection's last step: accept, for one whose version line
// is not complete (a slowloris trickles bytes but takes no step); the end of its version
// line; the end of its KEXINIT; its last bytes after that. One that has sent bytes
// after its KEXINIT may be evicted only once it has been silent for idleEvictAfter.
// So a real client, which takes each step within a round trip of the last, is always
// among the last to go, and a peer that stalls at any step goes first.
func (st *startups) evictFurthest(now time.Time) bool {
	var victim *startup
	var victimSince time.Time
	for s := range st.pending {
		since, ok := stuckSince(s, now)
		if ok && (victim == nil || since.Before(victimSince)) {
			victim, victimSince = s, since
		}
	}
	if victim == nil {
		return false
	}
	victim.evicted = true
	st.remove(victim)
	if st.held < maxEvictedHeld {
		// Its handshake fails at the deadline, and its peer learns only then: a flood
		// that reconnects at once when dropped would otherwise evict at the rate it can
		// connect, and a real client would have only a few milliseconds for each step.
		st.held++
		victim.held = true
		_ = victim.conn.SetDeadline(now.Add(evictedHold))
	} else {
		_ = victim.conn.Close() // its handshake fails and its goroutine ends
	}
	return true
}

// stuckSince is when s took its last step towards logging in; ok is false when s may
// not be evicted.
func stuckSince(s *startup, now time.Time) (since time.Time, ok bool) {
	switch {
	case !s.version:
		return s.since, true
	case !s.kexInit:
		return s.versionAt, true
	case !s.progressed:
		return s.kexInitAt, true
	}
	if now.Sub(s.lastActive) >= idleEvictAfter {
		return s.lastActive, true
	}
	// A peer could trickle a byte now and then to look active; a client still not
	// logged in long after its KEXINIT is stuck since then, whatever it sends.
	return s.kexInitAt, now.Sub(s.kexInitAt) >= slowLoginEvictAfter
}

// versionReceived marks s as having sent its version line.
func (st *startups) versionReceived(s *startup) {
	st.mu.Lock()
	s.version, s.versionAt = true, st.now()
	st.mu.Unlock()
}

// kexInitReceived marks s as past its preamble and, unless it was evicted, gives it the
// rest of the login grace time (deadline): it keeps its place from then on as long as
// it goes on with the key exchange (evictFurthest). The deadline is set under the lock,
// so that it cannot undo an eviction's.
func (st *startups) kexInitReceived(s *startup, deadline time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	if !s.version {
		s.version, s.versionAt = true, now // the version line came in the same read
	}
	s.kexInit, s.kexInitAt = true, now
	if !s.evicted && !deadline.IsZero() {
		_ = s.conn.SetDeadline(deadline)
	}
}

// clientActive notes that s's client sent bytes after its KEXINIT.
func (st *startups) clientActive(s *startup) {
	if s.released.Load() {
		return // logged in or failed: no longer in startups
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s.progressed, s.lastActive = true, st.now()
}

// release gives s's place back once it logged in or failed.
func (st *startups) release(s *startup) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.released.Store(true)
	if !s.evicted {
		st.remove(s)
	}
	if s.held {
		s.held = false
		st.held--
	}
}

func (st *startups) remove(s *startup) {
	delete(st.pending, s)
	if st.bySource[s.source]--; st.bySource[s.source] <= 0 {
		delete(st.bySource, s.source)
	}
}

// wasEvicted reports whether a newcomer took s's place.
func (s *startup) wasEvicted(st *startups) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return s.evicted
}

// watchPreamble gives c preambleTimeout (at most the login grace time) for the client's
// version line and KEXINIT, then the rest of the login grace time from start.
func (s *Server) watchPreamble(c net.Conn, place *startup, start time.Time) *bufferedConn {
	grace := start.Add(s.cfg.HandshakeTimeout) // OpenSSH's LoginGraceTime
	_ = c.SetDeadline(start.Add(min(preambleTimeout, s.cfg.HandshakeTimeout)))
	bc := newBufferedConn(c)
	bc.onVersion = func() { s.startups.versionReceived(place) }
	bc.onKexInit = func() { s.startups.kexInitReceived(place, grace) }
	bc.onActive = func() { s.startups.clientActive(place) }
	return bc
}
