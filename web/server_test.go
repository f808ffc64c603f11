package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"jobsshd/internal/loglimit"
)

// fakeAgent records what the web server asks of the SSH server.
type fakeAgent struct {
	mu        sync.Mutex
	accepting bool
	served    []net.Addr // RemoteAddr of each ServeConn
	keys      map[string][]byte
	echo      bool               // ServeConn echoes until EOF
	closeTook chan time.Duration // when set, how long each c.Close() took
	allowCIDR []netip.Prefix     // --allow-cidr; empty allows every address
}

func (a *fakeAgent) setAllowCIDR(p ...netip.Prefix) { a.mu.Lock(); a.allowCIDR = p; a.mu.Unlock() }

func (a *fakeAgent) AllowsClient(addr netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.allowCIDR {
		if addr.IsValid() && p.Contains(addr) {
			return true
		}
	}
	return len(a.allowCIDR) == 0
}

func (a *fakeAgent) Accepting() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.accepting }

func (a *fakeAgent) ServeConn(c net.Conn) {
	a.mu.Lock()
	a.served = append(a.served, c.RemoteAddr())
	echo := a.echo
	a.mu.Unlock()
	if echo {
		_, _ = io.Copy(c, c)
	}
	start := time.Now()
	_ = c.Close()
	if a.closeTook != nil {
		a.closeTook <- time.Since(start)
	}
}

func (a *fakeAgent) UserKeyFile(name string) ([]byte, error) {
	if b, ok := a.keys[name]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (a *fakeAgent) servedCount() int { a.mu.Lock(); defer a.mu.Unlock(); return len(a.served) }

const testToken = "test-token-0123456789abcdef"

type testServer struct {
	*Server
	url   string
	agent *fakeAgent
	logs  *bytes.Buffer
	clock *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestServer serves the routes on an httptest server; cfg's Agent, Token, Logger
// and Now are filled in unless set.
func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ag := &fakeAgent{accepting: true, echo: true, keys: map[string][]byte{
		KeyPrivate: []byte("PRIVATE"), KeyPublic: []byte("ssh-ed25519 AAAA"), KeyPPK: []byte("PuTTY-User-Key-File-3")}}
	logs := &bytes.Buffer{}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	cfg.Addr = "127.0.0.1:0"
	if cfg.Agent == nil {
		cfg.Agent = ag
	}
	if cfg.Token == "" && cfg.TokenFile == "" && cfg.StateDir == nil {
		cfg.Token = testToken
	}
	cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now = clock.now
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.http.Handler)
	t.Cleanup(hs.Close)
	return &testServer{Server: s, url: hs.URL, agent: ag, logs: logs, clock: clock}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// get does one request without following redirects.
func (ts *testServer) get(t *testing.T, path string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	// A new connection for every request, as a guesser would open them: what is
	// counted per client must not be counted per connection.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// TestOnlyHealthzWithoutToken: every route but /healthz answers 401 without the token
// or with a wrong one, and none of them reached the agent.
func TestOnlyHealthzWithoutToken(t *testing.T) {
	ts := newTestServer(t, Config{})
	paths := []string{"/", "/terminal", "/ssh", "/id_container", "/id_container.pub", "/id_container.ppk", "/nothing"}
	for _, p := range paths {
		for _, h := range []http.Header{nil, bearer("wrong-token-0123456789"), {"Cookie": {cookieName + "=wrong"}}, {"Authorization": {"Basic " + testToken}}} {
			if resp := ts.get(t, p, h); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with %v: got %d, want 401", p, h, resp.StatusCode)
			}
			ts.clock.advance(time.Minute) // stay clear of the failure limit here
		}
	}
	if n := ts.agent.servedCount(); n != 0 {
		t.Errorf("the agent served %d connections for unauthenticated requests, want 0", n)
	}
	if resp := ts.get(t, "/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz without token: got %d, want 200", resp.StatusCode)
	}
	for _, p := range []string{"/id_container", "/id_container.pub", "/id_container.ppk"} {
		if resp := ts.get(t, p, bearer(testToken)); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the token: got %d, want 200", p, resp.StatusCode)
		}
	}
}

func TestHealthzFollowsTheListener(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.agent.mu.Lock()
	ts.agent.accepting = false
	ts.agent.mu.Unlock()
	if resp := ts.get(t, "/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /healthz while the SSH listener does not accept: got %d, want 503", resp.StatusCode)
	}
}

func TestKeyDownload(t *testing.T) {
	ts := newTestServer(t, Config{})
	resp := ts.get(t, "/id_container.ppk", bearer(testToken))
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename="id_container.ppk"`; got != want {
		t.Errorf("Content-Disposition: got %q, want %q", got, want)
	}
	delete(ts.agent.keys, KeyPPK)
	if resp := ts.get(t, "/id_container.ppk", bearer(testToken)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a key file that does not exist: got %d, want 404", resp.StatusCode)
	}
}

// TestTokenInURLSetsCookie: ?token= on the page sets an HttpOnly, SameSite=Strict cookie
// and redirects to the URL without the token; the cookie then authenticates.
func TestTokenInURLSetsCookie(t *testing.T) {
	ts := newTestServer(t, Config{})
	resp := ts.get(t, "/?token="+testToken+"&x=1", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /?token=: got %d, want 303", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "token") || loc != "./?x=1" {
		t.Errorf("Location: got %q, want ./?x=1 (without the token)", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Errorf("cookie: HttpOnly %v SameSite %v Secure %v, want HttpOnly, SameSite=Strict, not Secure over plain HTTP", c.HttpOnly, c.SameSite, c.Secure)
	}
	if c.Path != "" {
		t.Errorf("cookie Path %q, want none (the browser's default, the page's directory behind any prefix)", c.Path)
	}
	if resp := ts.get(t, "/id_container.pub", http.Header{"Cookie": {c.Name + "=" + c.Value}}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with the cookie: got %d, want 200", resp.StatusCode)
	}
	if resp := ts.get(t, "/id_container.pub?token="+testToken, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("?token= on another path than the page: got %d, want 401", resp.StatusCode)
	}
}

// TestFailuresAreLimited: after failureBurst failures an address gets 429, even with
// the right token, until its bucket refills.
func TestFailuresAreLimited(t *testing.T) {
	ts := newTestServer(t, Config{})
	for i := range failureBurst {
		if resp := ts.get(t, "/id_container", bearer("guess-"+strings.Repeat("x", i+16))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := ts.get(t, "/id_container", bearer(testToken)); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures: got %d, want 429", failureBurst, resp.StatusCode)
	}
	ts.clock.advance(2 * failureRefill)
	if resp := ts.get(t, "/id_container", bearer(testToken)); resp.StatusCode != http.StatusOK {
		t.Errorf("after the bucket refilled: got %d, want 200", resp.StatusCode)
	}
	if n := strings.Count(ts.logs.String(), "web request refused"); n > loglimit.Burst {
		t.Errorf("%d refusal lines within one second, want at most %d", n, loglimit.Burst)
	}
	ts.get(t, "/id_container", bearer("guess-after-the-refill"))
	if want := fmt.Sprintf("not_logged_before=%d", failureBurst-loglimit.Burst); !strings.Contains(ts.logs.String(), want) {
		t.Errorf("the refusal line after a second does not count the ones not logged (%s):\n%s", want, ts.logs.String())
	}
}

// TestTokenNeverLogged: neither the real token nor what a client sent appears in the
// log.
func TestTokenNeverLogged(t *testing.T) {
	ts := newTestServer(t, Config{})
	sent := "sent-secret-guess-0123456789"
	ts.get(t, "/id_container", bearer(sent))
	ts.get(t, "/?token="+sent, nil)
	ts.get(t, "/?token="+testToken, nil)
	ts.get(t, "/id_container", bearer(testToken))
	logs := ts.logs.String()
	if !strings.Contains(logs, "web request refused") {
		t.Fatalf("no refusal logged:\n%s", logs)
	}
	for _, secret := range []string{sent, testToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
}

// TestCrossOriginUpgradeRefused: a browser page of another origin cannot open /ssh
// even with the cookie; the page's own origin and --web-allowed-origin can.
func TestCrossOriginUpgradeRefused(t *testing.T) {
	ts := newTestServer(t, Config{AllowedOrigins: []string{"https://ui.example"}})
	host := strings.TrimPrefix(ts.url, "http://")
	for _, tc := range []struct {
		name, origin string
		want         int
	}{
		{"foreign", "https://evil.example", http.StatusForbidden},
		{"foreign with our host as a suffix", "https://evil.example." + host, http.StatusForbidden},
		{"null", "null", http.StatusForbidden},
		{"own host", "http://" + host, http.StatusSwitchingProtocols},
		{"allowed", "https://ui.example", http.StatusSwitchingProtocols},
		{"none (not a browser)", "", http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Cookie": {cookieName + "=" + testToken}}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, resp, err := websocket.Dial(context.Background(), "ws://"+host+"/ssh", &websocket.DialOptions{HTTPHeader: h})
			if c != nil {
				c.CloseNow()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Errorf("Origin %q: got %d (%v), want %d", tc.origin, resp.StatusCode, err, tc.want)
			}
		})
	}
}

// TestSSHCarriesBytesWithClientAddress: /ssh hands the agent a connection whose bytes
// are the binary messages and whose RemoteAddr is the peer's, or the client
// X-Forwarded-For names when the peer is a trusted proxy (client_addr_test.go has
// the cases of the header itself).
func TestSSHCarriesBytesWithClientAddress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		want    string
	}{
		{"peer", nil, "", "127.0.0.1"},
		{"untrusted forwarded-for ignored", nil, "203.0.113.7", "127.0.0.1"},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7, 127.0.0.2", "203.0.113.7"},
		{"trusted proxy, junk header", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "not-an-ip", "0.0.0.0"},
		{"other proxy trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "203.0.113.7", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{TrustedProxies: tc.trusted})
			h := bearer(testToken)
			if tc.xff != "" {
				h.Set("X-Forwarded-For", tc.xff)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, strings.Replace(ts.url, "http", "ws", 1)+"/ssh", &websocket.DialOptions{HTTPHeader: h})
			if err != nil {
				t.Fatal(err)
			}
			nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
			defer nc.Close()
			if _, err := nc.Write([]byte("SSH-2.0-test\r\n")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 14)
			if _, err := io.ReadFull(nc, got); err != nil || string(got) != "SSH-2.0-test\r\n" {
				t.Fatalf("echo: got %q, %v", got, err)
			}
			ts.agent.mu.Lock()
			remote := ts.agent.served[0].(*net.TCPAddr)
			ts.agent.mu.Unlock()
			if remote.IP.String() != tc.want {
				t.Errorf("RemoteAddr: got %s, want %s", remote.IP, tc.want)
			}
		})
	}
}

// TestSSHTextMessageCloses: /ssh carries binary messages only; a text message closes
// that socket with StatusUnsupportedData.
func TestSSHTextMessageCloses(t *testing.T) {
	ts := newTestServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(ts.url, "http", "ws", 1)+"/ssh", &websocket.DialOptions{HTTPHeader: bearer(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusUnsupportedData {
		t.Errorf("after a text message: got close status %v (%v), want %v", got, err, websocket.StatusUnsupportedData)
	}
}

// TestGeneratedToken: without a token, one is generated into the state directory
// (0600, 32 bytes base64url) and used again at the next start.
func TestGeneratedToken(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cfg := Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{}, StateDir: root, StateDirPath: dir}
	s1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir + "/" + TokenFileName)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if got := len(s1.token.value); got != 43 {
		t.Errorf("generated token has %d characters, want 43 (32 bytes base64url)", got)
	}
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1.token.value, s2.token.value) {
		t.Error("a second start generated another token, want the kept one")
	}
}

func TestTokenSources(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"both", Config{Token: testToken, TokenFile: "/x"}, "keep one"},
		{"short", Config{Token: "short"}, "at least 16"},
		{"missing file", Config{TokenFile: "/nonexistent/token"}, "--web-token-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Addr, tc.cfg.Agent = "127.0.0.1:0", &fakeAgent{}
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAddr(t *testing.T) {
	for _, addr := range []string{"", "8022", "unix:relative.sock", "host"} {
		_, err := New(Config{Addr: addr, Agent: &fakeAgent{}, Token: testToken})
		if err == nil {
			t.Errorf("--web %q: no error, want one", addr)
		}
	}
}

func TestTokenMatches(t *testing.T) {
	tok := token{value: []byte(testToken)}
	for _, v := range []string{"", testToken[:len(testToken)-1], testToken + "x", strings.ToUpper(testToken), " " + testToken} {
		if tok.matches(v) {
			t.Errorf("token matches %q, want only itself", v)
		}
	}
	if !tok.matches(testToken) {
		t.Error("token does not match itself")
	}
}
