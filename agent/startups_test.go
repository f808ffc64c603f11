package agent

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock for startups.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestStartups(full, perSource int, random float64, clock *fakeClock) *startups {
	st := newStartups(full, perSource)
	st.random = func() float64 { return random }
	st.now = clock.now
	return st
}

func pipeConn(t *testing.T) (server, client net.Conn) {
	t.Helper()
	server, client = net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

var testSource = netip.MustParseAddr("192.0.2.1")

func TestStartupsRandomEarlyDrop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		waiting int     // connections admitted before, none stalled
		random  float64 // what the random source returns
		want    bool
	}{
		{name: "below begin, unlucky", waiting: 4, random: 0, want: true},
		{name: "at begin, lucky", waiting: 5, random: 0.31, want: true},
		{name: "at begin, unlucky", waiting: 5, random: 0.29, want: false},
		{name: "near full, lucky", waiting: 9, random: 0.99, want: true},
		{name: "near full, unlucky", waiting: 9, random: 0.8, want: false},
		{name: "full, whatever the luck", waiting: 10, random: 1, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			st := newTestStartups(10, 0, 1, clock) // begin 5; admit all while filling
			for range tt.waiting {
				c, _ := pipeConn(t)
				s, why := st.admit(c, testSource)
				if s == nil {
					t.Fatalf("filling: refused (%s)", why)
				}
				st.kexInitReceived(s, time.Time{}) // past the preamble and going on: not to be evicted
				st.clientActive(s)
			}
			st.random = func() float64 { return tt.random }
			c, _ := pipeConn(t)
			s, why := st.admit(c, testSource)
			if got := s != nil; got != tt.want {
				t.Errorf("with %d waiting and random %v: admitted %v (%q), want %v", tt.waiting, tt.random, got, why, tt.want)
			}
			if s == nil && !strings.Contains(why, "too many unauthenticated connections (10)") {
				t.Errorf("refusal reason %q does not name the bound", why)
			}
		})
	}
}

// The steps towards logging in a waiting connection has taken.
const (
	waitNone = iota
	waitVersion
	waitKexInit
	waitProgressed
)

// waitingConnection is a connection that TestStartupsEvictFurthest places as waiting.
type waitingConnection struct {
	name  string
	state int
	stuck time.Duration // since its last step (accept, for state waitNone)
}

var waitingConnections = []waitingConnection{
	{name: "active after KEXINIT", state: waitProgressed, stuck: idleEvictAfter - time.Millisecond},
	{name: "trickling long after KEXINIT", state: waitProgressed, stuck: time.Millisecond},
	{name: "idle after KEXINIT, less", state: waitProgressed, stuck: idleEvictAfter},
	{name: "idle after KEXINIT, more", state: waitProgressed, stuck: idleEvictAfter + 2*time.Second},
	{name: "silent since KEXINIT, long", state: waitKexInit, stuck: 10 * time.Second},
	{name: "silent since KEXINIT, short", state: waitKexInit, stuck: 10 * time.Millisecond},
	{name: "version only", state: waitVersion, stuck: 4 * time.Second},
	{name: "nothing yet (slowloris)", state: waitNone, stuck: 4500 * time.Millisecond},
	{name: "nothing yet, fresh", state: waitNone, stuck: time.Millisecond},
}

// placeWaiting puts waitingConnections in st's places as they stand at now, and returns
// them by name.
func placeWaiting(t *testing.T, st *startups, now time.Time) map[string]*startup {
	places := map[string]*startup{}
	for _, w := range waitingConnections {
		c, _ := pipeConn(t)
		at := now.Add(-w.stuck)
		s := &startup{conn: c, source: sourceKey(testSource), since: at.Add(-20 * time.Second)}
		switch w.state {
		case waitNone:
			s.since = at
		case waitVersion:
			s.version, s.versionAt = true, at
		case waitKexInit:
			s.version, s.kexInit, s.kexInitAt = true, true, at
		case waitProgressed:
			s.version, s.kexInit, s.progressed, s.lastActive = true, true, true, at
			s.kexInitAt = at.Add(-time.Second)
		}
		if w.name == "trickling long after KEXINIT" {
			s.kexInitAt = now.Add(-slowLoginEvictAfter - time.Second)
		}
		st.pending[s] = struct{}{}
		st.bySource[s.source]++
		places[w.name] = s
	}
	return places
}

// checkEvictionOrder admits one newcomer per name in wantOrder and wants each to evict
// that connection, none other before its turn, and each evicted one held.
func checkEvictionOrder(t *testing.T, st *startups, places map[string]*startup, wantOrder []string) {
	t.Helper()
	for i, want := range wantOrder {
		c, _ := pipeConn(t)
		s, why := st.admit(c, testSource)
		if s == nil {
			t.Fatalf("newcomer refused (%s), want %q evicted", why, want)
		}
		st.kexInitReceived(s, time.Time{}) // the newcomers go on with their key exchange
		st.clientActive(s)
		for name, p := range places {
			if p.wasEvicted(st) && name != want && !slices.Contains(wantOrder[:i], name) {
				t.Fatalf("%q evicted before %q", name, want)
			}
		}
		if !places[want].wasEvicted(st) {
			t.Fatalf("%q not evicted", want)
		}
		if got := st.heldCount(); got != i+1 {
			t.Errorf("after %d evictions, %d held, want %d", i+1, got, i+1)
		}
	}
}

// TestStartupsEvictFurthest: when places run short, a newcomer takes the place of the
// connection stuck longest since its last step towards logging in (accept, for one that
// has not completed its version line; then the version line, the KEXINIT, its last bytes
// after that), so that a flood that sends a valid KEXINIT and stalls goes before a real
// client, which takes each step within a round trip; one that goes on with its key
// exchange keeps its place until it has been silent for idleEvictAfter. Evicted
// connections are held (not counted) up to maxEvictedHeld, then closed at once.
func TestStartupsEvictFurthest(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	st := newTestStartups(9, 0, 0, clock) // begin 4; every random draw refuses
	now := clock.t.Add(time.Minute)
	places := placeWaiting(t, st, now)
	clock.t = now
	wantOrder := []string{"trickling long after KEXINIT", "silent since KEXINIT, long", "idle after KEXINIT, more", "nothing yet (slowloris)", "version only",
		"idle after KEXINIT, less", "silent since KEXINIT, short", "nothing yet, fresh"}
	checkEvictionOrder(t, st, places, wantOrder)
	if n := len(st.pending); n != len(waitingConnections) {
		t.Errorf("pending after %d evictions: %d, want %d", len(wantOrder), n, len(waitingConnections))
	}
	c, _ := pipeConn(t)
	if s, _ := st.admit(c, testSource); s != nil {
		t.Error("every waiting connection goes on with its key exchange and the draw refuses: admitted")
	}
	if places["active after KEXINIT"].wasEvicted(st) {
		t.Error("a connection that goes on with its key exchange was evicted")
	}
	// The held ones' goroutines end at their deadline and give back their hold.
	for _, name := range wantOrder {
		st.release(places[name])
	}
	if got := st.heldCount(); got != 0 {
		t.Errorf("after every evicted connection ended, %d held, want 0", got)
	}
	// Once silent for idleEvictAfter, it too may be evicted; with every hold taken, the
	// evicted connection is closed at once.
	st.mu.Lock()
	st.held = maxEvictedHeld
	st.mu.Unlock()
	clock.t = clock.t.Add(idleEvictAfter)
	c, _ = pipeConn(t)
	if s, why := st.admit(c, testSource); s == nil {
		t.Errorf("refused (%s), want a connection silent for %v evicted", why, idleEvictAfter)
	}
	last := places["active after KEXINIT"]
	if !last.wasEvicted(st) || last.held {
		t.Errorf("with every hold taken: evicted %v, held %v; want evicted and closed", last.wasEvicted(st), last.held)
	}
	if _, err := last.conn.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("evicted with every hold taken, but not closed: read gave %v", err)
	}
	// A connection's reads after it logged in are no longer noted.
	st.release(last)
	before := last.lastActive
	clock.t = clock.t.Add(time.Second)
	st.clientActive(last)
	if !last.lastActive.Equal(before) {
		t.Error("a read after release was noted")
	}
}

func TestStartupsPerSource(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	st := newTestStartups(100, 2, 0, clock)
	admit := func(addr string) (*startup, string) {
		c, _ := pipeConn(t)
		return st.admit(c, netip.MustParseAddr(addr))
	}
	a1, _ := admit("192.0.2.1")
	if a1 == nil {
		t.Fatal("first from 192.0.2.1 refused")
	}
	if s, _ := admit("192.0.2.1"); s == nil {
		t.Fatal("second from 192.0.2.1 refused")
	}
	if s, why := admit("192.0.2.1"); s != nil || !strings.Contains(why, "from your address (2)") {
		t.Errorf("third from 192.0.2.1: admitted %v (%q), want refused naming the per-address bound", s != nil, why)
	}
	if s, _ := admit("192.0.2.2"); s == nil {
		t.Error("another address refused")
	}
	st.release(a1)
	if s, _ := admit("192.0.2.1"); s == nil {
		t.Error("after one left, 192.0.2.1 is still refused")
	}
	// One /64 is one source.
	admit("2001:db8::1")
	admit("2001:db8::2:3")
	if s, _ := admit("2001:db8::ffff"); s != nil {
		t.Error("a third address of one IPv6 /64 admitted")
	}
	if s, _ := admit("2001:db8:0:1::1"); s == nil {
		t.Error("an address of another /64 refused")
	}
}

// kexInitBytes is a client preamble: version line, then a binary packet of packet_length
// n whose message type is KEXINIT (the rest zero).
func kexInitBytes(n int) []byte {
	b := []byte("SSH-2.0-test\r\n")
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	body := make([]byte, n)
	if n > 1 {
		body[1] = msgKexInit
	}
	return append(b, body...)
}

func TestPreambleWatch(t *testing.T) {
	t.Parallel()
	full := kexInitBytes(300)
	notKexInit := kexInitBytes(300)
	notKexInit[14+4+1] = 21 // NEWKEYS
	tests := []struct {
		name   string
		bytes  []byte
		chunks []int // sizes the bytes arrive in
		want   int   // index of the chunk that completes the packet; -1: none
		after  int   // bytes after the packet in that chunk
	}{
		{name: "at once", chunks: []int{len(full)}, want: 0},
		{name: "byte by byte", chunks: repeat(1, len(full)), want: len(full) - 1},
		{name: "version line, then the packet", chunks: []int{14, len(full) - 14}, want: 1},
		{name: "split length field", chunks: []int{16, 2, len(full) - 18}, want: 2},
		{name: "split before the message type", chunks: []int{19, len(full) - 19}, want: 1},
		{name: "one byte short", chunks: []int{len(full) - 1}, want: -1},
		{name: "next packet in the same read", bytes: append(kexInitBytes(300), 0, 0, 0, 12, 5), chunks: []int{len(full) + 5}, want: 0, after: 5},
		{name: "zero length is no KEXINIT", bytes: append(kexInitBytes(0), make([]byte, 100)...), chunks: []int{14 + 4 + 100}, want: -1},
		{name: "a length of 15 is no KEXINIT", bytes: append(kexInitBytes(15), make([]byte, 100)...), chunks: []int{14 + 4 + 15 + 100}, want: -1},
		{name: "another message type", bytes: notKexInit, chunks: []int{len(full)}, want: -1},
		{name: "another message type, byte by byte", bytes: notKexInit, chunks: repeat(1, len(full)), want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bytes := tt.bytes
			if bytes == nil {
				bytes = full
			}
			var w preambleWatch
			got, gotAfter, off := -1, 0, 0
			for i, n := range tt.chunks {
				if done, after := w.feed(bytes[off : off+n]); done && got < 0 {
					got, gotAfter = i, after
				}
				off += n
			}
			if got != tt.want || gotAfter != tt.after {
				t.Errorf("completed at chunk %d with %d bytes after, want %d with %d", got, gotAfter, tt.want, tt.after)
			}
		})
	}
}

func repeat(v, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// clientPreamble is what a client sends before it waits for the server's key exchange
// reply: its version line and a valid KEXINIT packet (RFC 4253 §7.1) for methods the
// agent offers. A connection that sent it is past its preamble and cannot be evicted.
func clientPreamble() []byte {
	payload := []byte{20}
	payload = append(payload, make([]byte, 16)...) // cookie
	for _, list := range []string{kexForTests, "ssh-ed25519,rsa-sha2-256", "aes128-ctr", "aes128-ctr",
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "none", "none", "", ""} {
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(list)))
		payload = append(payload, list...)
	}
	payload = append(payload, 0, 0, 0, 0, 0) // first_kex_packet_follows, reserved
	return append([]byte("SSH-2.0-test\r\n"), cleartextPacket(payload)...)
}

// clientPreambleGoingOn is clientPreamble followed by the length field of the next
// packet (a KEXDH_INIT on its way): a client that sent it goes on with its key
// exchange, and keeps its place for idleEvictAfter even when places run short.
func clientPreambleGoingOn() []byte {
	return append(clientPreamble(), 0, 0, 0, 44)
}

// kexForTests is a key exchange method the agent offers.
const kexForTests = "curve25519-sha256"

// setRandom replaces the random early drop's source, e.g. to test the full
// bound alone.
func (st *startups) setRandom(f func() float64) {
	st.mu.Lock()
	st.random = f
	st.mu.Unlock()
}
