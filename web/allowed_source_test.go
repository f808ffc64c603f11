package web

import (
	"net/http"
	"net/netip"
	"testing"
)

// TestAllowCIDRCoversEveryRoute: a client outside --allow-cidr that holds the token
// gets no page, no shell and no key (403); /healthz still answers; behind a trusted
// proxy the forwarded address is what --allow-cidr sees.
func TestAllowCIDRCoversEveryRoute(t *testing.T) {
	ts := newTestServer(t, Config{Terminals: &echoTerminals{}, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")}})
	ts.agent.setAllowCIDR(netip.MustParsePrefix("10.0.0.0/8"))
	for _, path := range []string{"/", "/?token=" + testToken, "/assets/terminal.js", "/terminal?cols=80&rows=24", "/ssh", "/" + KeyPrivate, "/" + KeyPPK} {
		if resp := ts.get(t, path, bearer(testToken)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s from 127.0.0.1, outside --allow-cidr, with the token: %d, want 403", path, resp.StatusCode)
		}
	}
	if resp := ts.get(t, "/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz outside --allow-cidr: %d, want 200 (probes come from anywhere)", resp.StatusCode)
	}
	// 127.0.0.1 is no trusted proxy: its X-Forwarded-For does not get it in.
	h := bearer(testToken)
	h.Set("X-Forwarded-For", "10.1.2.3")
	if resp := ts.get(t, "/"+KeyPrivate, h); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an untrusted peer's X-Forwarded-For inside --allow-cidr: %d, want 403", resp.StatusCode)
	}
	ts.agent.setAllowCIDR(netip.MustParsePrefix("127.0.0.0/8"))
	if resp := ts.get(t, "/"+KeyPrivate, bearer(testToken)); resp.StatusCode != http.StatusOK {
		t.Errorf("inside --allow-cidr with the token: %d, want 200", resp.StatusCode)
	}
}
