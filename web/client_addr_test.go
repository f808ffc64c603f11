package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestForwardedClient: behind a trusted proxy the client is the last X-Forwarded-For
// entry that is not a trusted proxy, because proxies append to what the client sent;
// entries a client wrote itself never become its address, and junk where the proxies'
// entries end leaves no address rather than the proxy's own.
func TestForwardedClient(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:aa::/48")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: header ignored", "198.51.100.1:4000", []string{"192.0.2.1"}, "198.51.100.1"},
		{"trusted, no header: the peer", "10.1.1.1:4000", nil, "10.1.1.1"},
		{"trusted, one entry", "10.1.1.1:4000", []string{"203.0.113.7"}, "203.0.113.7"},
		// An appending proxy: the client claimed an address inside --allow-cidr.
		{"client-written first entry", "10.1.1.1:4000", []string{"10.2.3.4, 203.0.113.7"}, "203.0.113.7"},
		{"client-written junk first", "10.1.1.1:4000", []string{"junk, 203.0.113.7"}, "203.0.113.7"},
		{"chain of trusted proxies", "10.1.1.1:4000", []string{"203.0.113.7, 10.5.5.5, 10.6.6.6"}, "203.0.113.7"},
		{"all trusted: the first", "10.1.1.1:4000", []string{"10.5.5.5, 10.6.6.6"}, "10.5.5.5"},
		{"several headers are one list", "10.1.1.1:4000", []string{"10.2.3.4", "203.0.113.7"}, "203.0.113.7"},
		{"junk where the proxy's entry is: no address", "10.1.1.1:4000", []string{"203.0.113.7, junk"}, "0.0.0.0"},
		{"empty header: no address", "10.1.1.1:4000", []string{""}, "0.0.0.0"},
		{"IPv6 client", "[2001:db8:aa::1]:4000", []string{"2001:db8:bb::7"}, "2001:db8:bb::7"},
		{"IPv4-mapped entry", "10.1.1.1:4000", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"zone dropped", "10.1.1.1:4000", []string{"fe80::1%eth0"}, "fe80::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{cfg: Config{TrustedProxies: trusted}}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientTCPAddr(r).IP.String(); got != tc.want {
				t.Errorf("client of %s with X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
}
