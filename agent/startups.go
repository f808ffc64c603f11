package agent

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
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
//     one furthest from logging in (evictOldestPreamble) that has not sent its KEXINIT
//     yet, if any. A real client sends it within a round trip of connecting, so what is
//     evicted is a slowloris, or a peer that is not an SSH client. Random early drop alone lost every login to 100
//     slowloris peers that reconnect when dropped (they keep every place taken by a
//     fresh connection); with eviction first, one would have to open
//     --max-unauthenticated connections within a real client's first round trip to
//     evict it (TestLoginDuringFlood). Random early drop still applies to peers that
//     get past KEXINIT. That costs a peer only one packet, and then it keeps its place
//     for the login grace time, as in OpenSSH: the defence against such a flood from
//     one address is the per-source bound below (or a shorter --login-grace-time).
//     The deadline cannot reach further into the key exchange: OpenSSH's client asks
//     the user to accept an unknown host key before it sends NEWKEYS.
//   - Opt-in (--max-unauthenticated-per-source): at most so many from one address (one
//     /64 for IPv6). Off by default: behind a platform's relay every user shares one.

// startupsRate is the probability of refusal at startupsBegin (OpenSSH's default 30).
const startupsRate = 0.3

// preambleTimeout bounds the time from accept to the client's KEXINIT; it is shorter
// when the login grace time is.
const preambleTimeout = 5 * time.Second

// startups is the set of connections not logged in yet.
type startups struct {
	full, begin int
	perSource   int // 0: no per-source bound
	random      func() float64
	now         func() time.Time

	mu       sync.Mutex
	pending  map[*startup]struct{}
	bySource map[netip.Prefix]int
}

// startup is one connection in startups.
type startup struct {
	conn   net.Conn
	source netip.Prefix
	since  time.Time
	// version, kexInit and evicted are guarded by startups.mu.
	version bool // the client's version line arrived
	kexInit bool // the client's KEXINIT arrived
	evicted bool // a newcomer took its place: release must not give it back
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
	if n := len(st.pending); n >= st.begin && !st.evictOldestPreamble() {
		if n >= st.full || st.random() < startupsRate+(1-startupsRate)*float64(n-st.begin)/float64(st.full-st.begin) {
			return nil, fmt.Sprintf("too many unauthenticated connections (%d)", st.full)
		}
	}
	s := &startup{conn: c, source: key, since: now}
	st.pending[s] = struct{}{}
	st.bySource[key]++
	return s, ""
}

// evictOldestPreamble closes the connection that is furthest from logging in and
// frees its place; it reports whether there was one. Furthest is the oldest whose
// version line is not complete, else the oldest whose KEXINIT has not arrived: a real
// client sends its version line at once and its KEXINIT one round trip later, a
// slowloris sends neither. One past its KEXINIT is never evicted.
func (st *startups) evictOldestPreamble() bool {
	var victim *startup
	for s := range st.pending {
		if s.kexInit {
			continue
		}
		if victim == nil || s.version != victim.version && !s.version || s.version == victim.version && s.since.Before(victim.since) {
			victim = s
		}
	}
	if victim == nil {
		return false
	}
	victim.evicted = true
	st.remove(victim)
	_ = victim.conn.Close() // its handshake fails and its goroutine ends
	return true
}

// versionReceived marks s as having sent its version line.
func (st *startups) versionReceived(s *startup) {
	st.mu.Lock()
	s.version = true
	st.mu.Unlock()
}

// kexInitReceived marks s as past its preamble: it can no longer be evicted.
func (st *startups) kexInitReceived(s *startup) {
	st.mu.Lock()
	s.version, s.kexInit = true, true
	st.mu.Unlock()
}

// release gives s's place back once it logged in or failed.
func (st *startups) release(s *startup) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !s.evicted {
		st.remove(s)
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
	bc.onKexInit = func() {
		s.startups.kexInitReceived(place)
		_ = c.SetDeadline(grace)
	}
	return bc
}
