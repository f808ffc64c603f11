package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echoServer is an /ssh stand-in: it checks the bearer token and echoes binary
// messages; other paths answer 404.
func echoServer(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ssh" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer right" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("X-Ingress") != "" && r.Header.Get("X-Ingress") != "key" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
		_, _ = io.Copy(nc, nc)
		_ = nc.Close()
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func TestDialErrors(t *testing.T) {
	plain := echoServer(t, false)
	secure := echoServer(t, true)
	ws := strings.Replace(plain.URL, "http://", "ws://", 1)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no token", Options{URL: ws + "/ssh"}, "401 unauthorized"},
		{"ingress refuses", Options{URL: ws + "/ssh", Token: "right", Header: http.Header{"X-Ingress": {"wrong"}}}, "403 forbidden"},
		{"wrong path", Options{URL: ws + "/other", Token: "right"}, "404 not found"},
		{"untrusted certificate", Options{URL: strings.Replace(secure.URL, "https://", "wss://", 1) + "/ssh", Token: "right"}, "not trusted"},
		{"TLS to plain HTTP", Options{URL: strings.Replace(plain.URL, "http://", "wss://", 1) + "/ssh", Token: "right"}, "use ws://"},
		{"unknown host", Options{URL: "ws://no-such-host.invalid/ssh"}, "cannot resolve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(context.Background(), tc.o)
			if c != nil {
				c.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestStdioRoundTrip: bytes from stdin reach the WebSocket and what comes back reaches
// stdout, through the coalescing connection.
func TestStdioRoundTrip(t *testing.T) {
	s := echoServer(t, false)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB, many messages
	stdin, w := io.Pipe()
	var stdout lockedBuffer
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		done <- Stdio(ctx, Options{URL: strings.Replace(s.URL, "http://", "ws://", 1) + "/ssh", Token: "right"}, stdin, &stdout)
	}()
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	for stdout.Len() < len(payload) {
		select {
		case err := <-done:
			t.Fatalf("Stdio ended early after %d of %d bytes: %v", stdout.Len(), len(payload), err)
		case <-ctx.Done():
			t.Fatalf("%d of %d bytes came back", stdout.Len(), len(payload))
		case <-stdout.grew:
		}
	}
	w.Close()
	if err := <-done; err != nil {
		t.Errorf("Stdio: %v", err)
	}
	if !bytes.Equal(stdout.Bytes(), payload) {
		t.Error("the bytes that came back differ from those sent")
	}
}

// TestStdioThroughPipes: with stdin and stdout OS pipes, as OpenSSH gives a
// ProxyCommand (which the proxy then reads and writes with raw calls, internal/rawio),
// the bytes come back whole; and once the reader of stdout has gone, the relay ends
// without an error, as it ends when ssh closes the connection.
func TestStdioThroughPipes(t *testing.T) {
	s := echoServer(t, false)
	opts := Options{URL: strings.Replace(s.URL, "http://", "ws://", 1) + "/ssh", Token: "right"}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { inR.Close(); inW.Close(); outR.Close(); outW.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Stdio(ctx, opts, inR, outW) }()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100_000)
	go func() { _, _ = inW.Write(payload) }()
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(outR, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read back %v: the bytes differ from those sent", err)
	}
	outR.Close()                                     // ssh has gone
	go func() { _, _ = inW.Write([]byte("more")) }() // the echo now meets a closed stdout
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Stdio after stdout's reader left: %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Stdio did not end after stdout's reader left")
	}
}
