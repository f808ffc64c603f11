package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jobsshd/internal/testwait"
)

// TestUnixSocket: --web unix:/path listens on a socket only its owner and group can
// use, replaces a stale one, and serves on it.
func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // leaves the socket file behind, as a killed agent would
	ag := &fakeAgent{accepting: true}
	s, err := New(Config{Addr: "unix:" + path, Agent: ag, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	if s.Addr() != "unix:"+path || s.Port() != 0 {
		t.Errorf("Addr %q Port %d, want unix:%s and 0", s.Addr(), s.Port(), path)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := client.Get("http://agent/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz over the socket: %d %q, want 200 ok", resp.StatusCode, body)
	}

	// The sidecar on the socket speaks for the client in X-Forwarded-For.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer " + testToken}, "X-Forwarded-For": {"198.51.100.9"}}
	c, _, err := websocket.Dial(ctx, "ws://agent/ssh", &websocket.DialOptions{HTTPClient: client, HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	if !testwait.Until(5*time.Second, func() bool { return ag.servedCount() == 1 }) {
		t.Fatal("the agent did not get the connection")
	}
	ag.mu.Lock()
	got := ag.served[0].String()
	ag.mu.Unlock()
	if got != "198.51.100.9:0" {
		t.Errorf("client address over the unix socket: got %s, want 198.51.100.9:0 from X-Forwarded-For", got)
	}
}
