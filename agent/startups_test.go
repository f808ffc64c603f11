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
				st.kexInitReceived(s) // past the preamble: not to be evicted
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

// TestStartupsEvictOldestPreamble: when places run short, a newcomer takes the place of
// the connection furthest from logging in: the oldest without a complete version line,
// else the oldest without KEXINIT; never one past its KEXINIT.
func TestStartupsEvictOldestPreamble(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	st := newTestStartups(5, 0, 0, clock) // begin 2; every random draw refuses
	type waiting struct {
		name             string
		version, kexInit bool
	}
	// In order of arrival.
	all := []waiting{{"oldest, past KEXINIT", true, true}, {"version only, older", true, false},
		{"nothing yet, older", false, false}, {"version only, younger", true, false}, {"nothing yet, younger", false, false}}
	places := map[string]*startup{}
	peers := map[string]net.Conn{}
	for _, w := range all {
		c, peer := pipeConn(t)
		s := &startup{conn: c, source: sourceKey(testSource), since: clock.t, version: w.version, kexInit: w.kexInit}
		st.pending[s] = struct{}{}
		st.bySource[s.source]++
		places[w.name], peers[w.name] = s, peer
		clock.t = clock.t.Add(time.Millisecond)
	}
	wantOrder := []string{"nothing yet, older", "nothing yet, younger", "version only, older", "version only, younger"}
	for _, want := range wantOrder {
		c, _ := pipeConn(t)
		s, why := st.admit(c, testSource)
		if s == nil {
			t.Fatalf("newcomer refused (%s), want %q evicted", why, want)
		}
		st.kexInitReceived(s) // the newcomers are not candidates
		for name, p := range places {
			if p.wasEvicted(st) && name != want && !slices.Contains(wantOrder[:slices.Index(wantOrder, want)], name) {
				t.Fatalf("%q evicted before %q", name, want)
			}
		}
		if !places[want].wasEvicted(st) {
			t.Fatalf("%q not evicted", want)
		}
		// Its connection is closed, so its handshake ends.
		_ = peers[want].SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := peers[want].Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
			t.Errorf("%q was evicted but not closed: read gave %v", want, err)
		}
		st.release(places[want]) // its goroutine gives back a place it no longer has
	}
	if n := len(st.pending); n != 5 {
		t.Errorf("pending after four evictions: %d, want 5", n)
	}
	c, _ := pipeConn(t)
	if s, _ := st.admit(c, testSource); s != nil {
		t.Error("every waiting connection is past its KEXINIT and the draw refuses: admitted")
	}
	if places["oldest, past KEXINIT"].wasEvicted(st) {
		t.Error("a connection past its KEXINIT was evicted")
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

// kexInitBytes is a client preamble: version line, then a binary packet with a payload of n bytes.
func kexInitBytes(n int) []byte {
	b := []byte("SSH-2.0-test\r\n")
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, make([]byte, n)...)
}

func TestPreambleWatch(t *testing.T) {
	t.Parallel()
	full := kexInitBytes(300)
	tests := []struct {
		name   string
		chunks []int // sizes the bytes arrive in
		want   int   // index of the chunk that completes the packet; -1: none
	}{
		{name: "at once", chunks: []int{len(full)}, want: 0},
		{name: "byte by byte", chunks: repeat(1, len(full)), want: len(full) - 1},
		{name: "version line, then the packet", chunks: []int{14, len(full) - 14}, want: 1},
		{name: "split length field", chunks: []int{16, 2, len(full) - 18}, want: 2},
		{name: "one byte short", chunks: []int{len(full) - 1}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w preambleWatch
			got, off := -1, 0
			for i, n := range tt.chunks {
				if w.feed(full[off:off+n]) && got < 0 {
					got = i
				}
				off += n
			}
			if got != tt.want {
				t.Errorf("completed at chunk %d, want %d", got, tt.want)
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
	padding := 8 - (5+len(payload))%8
	if padding < 4 {
		padding += 8
	}
	pkt := binary.BigEndian.AppendUint32([]byte("SSH-2.0-test\r\n"), uint32(1+len(payload)+padding))
	pkt = append(pkt, byte(padding))
	pkt = append(pkt, payload...)
	return append(pkt, make([]byte, padding)...)
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
