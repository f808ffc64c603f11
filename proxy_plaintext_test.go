package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestPlaintextWarning: the proxy warns before it sends the token or --header values
// in clear over the network, and only then; the warning never holds the token or a
// header's value.
func TestPlaintextWarning(t *testing.T) {
	t.Parallel()
	const tok, secret = "secret-token-0123456789", "Bearer platform-secret-42"
	auth := http.Header{"Authorization": {secret}}
	for _, tc := range []struct {
		url, token string
		header     http.Header
		warn       bool
	}{
		{"ws://job.example:8022/ssh", tok, nil, true},
		{"http://10.1.2.3:8022/ssh", tok, nil, true},
		{"ws://[2001:db8::1]:8022/ssh", tok, nil, true},
		{"wss://job.example/ssh", tok, nil, false},
		{"https://job.example/ssh", tok, nil, false},
		{"ws://127.0.0.1:8022/ssh", tok, nil, false},
		{"ws://[::1]:8022/ssh", tok, nil, false},
		{"ws://localhost:8022/ssh", tok, nil, false},
		{"ws://job.example:8022/ssh", "", nil, false}, // nothing to leak
		{"ws://job.example:8022/ssh", "", auth, true}, // the ingress's credentials
		{"ws://job.example:8022/ssh", tok, auth, true},
		{"wss://job.example/ssh", "", auth, false},
		{"ws://127.0.0.1:8022/ssh", "", auth, false},
	} {
		w := plaintextWarning(tc.url, tc.token, tc.header)
		if (w != "") != tc.warn {
			t.Errorf("%s with token %q and headers %v: warning %q, want one: %v", tc.url, tc.token, tc.header, w, tc.warn)
		}
		if strings.Contains(w, tok) || strings.Contains(w, "platform-secret") {
			t.Errorf("the warning holds a secret: %q", w)
		}
		if tc.warn && tc.header != nil && !strings.Contains(w, "Authorization") {
			t.Errorf("the warning %q does not name the header it would send in clear", w)
		}
	}
}
