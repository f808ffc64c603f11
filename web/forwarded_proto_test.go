package web

import (
	"net/http"
	"net/netip"
	"testing"
)

// TestCookieSecureBehindTLSIngress: a trusted proxy that terminated TLS
// (X-Forwarded-Proto: https) gets a Secure cookie, so that the browser never sends the
// token over plain HTTP; the same header from an untrusted peer changes nothing.
func TestCookieSecureBehindTLSIngress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		proto   string
		secure  bool
	}{
		{"trusted proxy, https", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "https", true},
		{"trusted proxy chain, https first", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "HTTPS, http", true},
		{"trusted proxy, http", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "http", false},
		{"untrusted peer says https", nil, "https", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{TrustedProxies: tc.trusted})
			resp := ts.get(t, "/?token="+testToken, http.Header{"X-Forwarded-Proto": {tc.proto}})
			cookies := resp.Cookies()
			if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
				t.Fatalf("GET /?token=: %d with %d cookies, want 303 with one", resp.StatusCode, len(cookies))
			}
			if cookies[0].Secure != tc.secure {
				t.Errorf("cookie Secure %v, want %v", cookies[0].Secure, tc.secure)
			}
		})
	}
}
