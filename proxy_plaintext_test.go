package main

import (
	"strings"
	"testing"
)

// TestPlaintextTokenWarning: the proxy warns before it sends the token in clear over
// the network, and only then; the warning never holds the token.
func TestPlaintextTokenWarning(t *testing.T) {
	t.Parallel()
	const tok = "secret-token-0123456789"
	for _, tc := range []struct {
		url, token string
		warn       bool
	}{
		{"ws://job.example:8022/ssh", tok, true},
		{"http://10.1.2.3:8022/ssh", tok, true},
		{"ws://[2001:db8::1]:8022/ssh", tok, true},
		{"wss://job.example/ssh", tok, false},
		{"https://job.example/ssh", tok, false},
		{"ws://127.0.0.1:8022/ssh", tok, false},
		{"ws://[::1]:8022/ssh", tok, false},
		{"ws://localhost:8022/ssh", tok, false},
		{"ws://job.example:8022/ssh", "", false}, // no token to leak (the ingress's own credentials are its business)
	} {
		w := plaintextTokenWarning(tc.url, tc.token)
		if (w != "") != tc.warn {
			t.Errorf("%s with token %q: warning %q, want one: %v", tc.url, tc.token, w, tc.warn)
		}
		if strings.Contains(w, tok) {
			t.Errorf("the warning holds the token: %q", w)
		}
	}
}
