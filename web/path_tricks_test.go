package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestNoPathOrMethodGetsInWithoutToken: other methods, path spellings that clean to a
// protected route (dot segments, doubled or trailing slashes, escapes, case), the
// assets and a very long path: without the token none answers with content, none
// reaches the agent, and a redirect only points at a cleaned path of ours.
func TestNoPathOrMethodGetsInWithoutToken(t *testing.T) {
	ts := newTestServer(t, Config{Terminals: &echoTerminals{}})
	paths := []string{
		"/assets/", "/assets/terminal.js", "/assets/vendor/", "/assets/index.html", "/assets/../id_container",
		"//terminal", "/terminal/", "/ssh/", "/id_container/", "/./id_container", "/%2e%2e/id_container",
		"/%2e/id_container", "/id%5fcontainer", "/ID_CONTAINER", "/id_container%00", "/healthz/../id_container",
		"/healthz/", "/healthz/x", "/?token=", "/" + strings.Repeat("a", 8000),
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND"} {
		for _, p := range paths {
			req, err := http.NewRequest(method, ts.url+p, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %.60s: %v", method, p, err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			ts.clock.advance(time.Minute) // stay clear of the failure limit here
			switch code := resp.StatusCode; {
			case code >= 300 && code < 400:
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
					t.Errorf("%s %.60s: redirect to %q, want a path of ours", method, p, loc)
				}
			case code < 300:
				t.Errorf("%s %.60s without the token: %d %.80q", method, p, code, body)
			}
			for _, secret := range [][]byte{[]byte("PRIVATE"), []byte("PuTTY-User-Key"), []byte("xterm")} {
				if bytes.Contains(body, secret) {
					t.Errorf("%s %.60s without the token: the answer holds %q", method, p, secret)
				}
			}
		}
	}
	if n := ts.agent.servedCount(); n != 0 {
		t.Errorf("the agent served %d connections without the token", n)
	}
}
