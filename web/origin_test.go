package web

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestOriginComparesSchemeHostAndPort: a browser's Origin must be the page's own
// origin, its scheme included where the agent knows how the browser reached it (its
// own TLS, a trusted proxy's X-Forwarded-Proto), or a --web-allowed-origin compared
// as a whole origin.
func TestOriginComparesSchemeHostAndPort(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{}, Token: testToken,
		AllowedOrigins: []string{"https://ui.example", "http://dev.example:8080/"},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	const stranger, ingress = "192.0.2.7:40000", "10.1.2.3:40000"
	for _, tc := range []struct {
		name, host, origin, peer, proto string
		tls                             bool
		want                            bool
	}{
		{name: "plain HTTP, same host and port", host: "job:8022", origin: "http://job:8022", peer: stranger, want: true},
		{name: "plain HTTP from an unknown peer: maybe a TLS proxy in front", host: "job", origin: "https://job", peer: stranger, want: true},
		{name: "another port", host: "job:8022", origin: "http://job:8023", peer: stranger},
		{name: "another host", host: "job:8022", origin: "http://evil.example:8022", peer: stranger},
		{name: "own TLS, https page", host: "job:8022", origin: "https://job:8022", peer: stranger, tls: true, want: true},
		{name: "own TLS, http page", host: "job:8022", origin: "http://job:8022", peer: stranger, tls: true},
		{name: "own TLS, default port written out", host: "job:443", origin: "https://JOB", peer: stranger, tls: true, want: true},
		{name: "trusted proxy says https, https page", host: "job", origin: "https://job", peer: ingress, proto: "https", want: true},
		{name: "trusted proxy says https, http page", host: "job", origin: "http://job", peer: ingress, proto: "https"},
		{name: "trusted proxy says http, https page", host: "job", origin: "https://job", peer: ingress, proto: "http"},
		{name: "untrusted peer's X-Forwarded-Proto is ignored", host: "job", origin: "http://job", peer: stranger, proto: "https", want: true},
		{name: "allowed origin", host: "job", origin: "https://ui.example", peer: stranger, want: true},
		{name: "allowed origin, default port written out", host: "job", origin: "https://ui.example:443", peer: stranger, want: true},
		{name: "allowed origin's host over http", host: "job", origin: "http://ui.example", peer: stranger},
		{name: "allowed origin with its port", host: "job", origin: "http://dev.example:8080", peer: stranger, want: true},
		{name: "null", host: "job", origin: "null", peer: stranger},
		{name: "a path is no origin", host: "job", origin: "http://job/x", peer: stranger},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/ssh", nil)
			r.Host, r.RemoteAddr = tc.host, tc.peer
			r.Header.Set("Origin", tc.origin)
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := s.originAllowed(r); got != tc.want {
				t.Errorf("Origin %q to Host %q (TLS %v, X-Forwarded-Proto %q from %s): allowed %v, want %v",
					tc.origin, tc.host, tc.tls, tc.proto, tc.peer, got, tc.want)
			}
		})
	}
}

// TestAllowedOriginMustBeAnOrigin: a --web-allowed-origin that is no origin (a bare
// host, a URL with a path) stops the start with a message naming it, instead of
// matching nothing.
func TestAllowedOriginMustBeAnOrigin(t *testing.T) {
	for _, bad := range []string{"ui.example", "https://ui.example/app", "ftp://ui.example", "*"} {
		_, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{}, Token: testToken, AllowedOrigins: []string{bad}})
		if err == nil || !strings.Contains(err.Error(), "--web-allowed-origin") {
			t.Errorf("--web-allowed-origin %q: got %v, want an error naming the flag", bad, err)
		}
	}
}
