package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startRealServer serves New(cfg) on a loopback port through the http.Server New
// configured (its timeouts included), after adjust has had a look at it.
func startRealServer(t *testing.T, cfg Config, adjust func(*Server)) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Agent == nil {
		cfg.Agent = &fakeAgent{accepting: true}
	}
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(s)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// TestTrickledBodyIsCut: a stranger who sends a request head announcing a body and
// then nothing must not hold the connection: net/http reads a refused request's body
// to reuse the connection, and only ReadTimeout bounds that read. The test shortens
// the server's own ReadTimeout; a server without one keeps the connection open.
func TestTrickledBodyIsCut(t *testing.T) {
	const short = 300 * time.Millisecond
	s := startRealServer(t, Config{}, func(s *Server) {
		if s.http.ReadTimeout > short {
			s.http.ReadTimeout = short
		}
	})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /terminal HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c) // whatever answer comes, then the close
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("a request whose body never comes still holds its connection after 5 s: the server needs a ReadTimeout")
	}
}

// TestServerTimeouts pins the bounds New gives the http.Server: the behaviour of each is
// net/http's.
func TestServerTimeouts(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Agent: &fakeAgent{}, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	h := s.http
	if h.ReadHeaderTimeout <= 0 || h.ReadTimeout <= 0 || h.WriteTimeout <= 0 || h.IdleTimeout <= 0 || h.MaxHeaderBytes <= 0 {
		t.Errorf("http.Server bounds: ReadHeaderTimeout %v, ReadTimeout %v, WriteTimeout %v, IdleTimeout %v, MaxHeaderBytes %d: want all set",
			h.ReadHeaderTimeout, h.ReadTimeout, h.WriteTimeout, h.IdleTimeout, h.MaxHeaderBytes)
	}
}

// TestWebSocketOutlivesRequestTimeouts: ReadTimeout and WriteTimeout bound HTTP
// requests only: an upgraded socket (the hijack clears their deadlines) keeps
// carrying messages well after both have passed.
func TestWebSocketOutlivesRequestTimeouts(t *testing.T) {
	const short = 200 * time.Millisecond
	s := startRealServer(t, Config{Agent: &fakeAgent{accepting: true, echo: true}}, func(s *Server) {
		s.http.ReadTimeout, s.http.WriteTimeout = short, short
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.Addr()+"/ssh", &websocket.DialOptions{HTTPHeader: bearer(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer nc.Close()
	start := time.Now()
	for n := 0; time.Since(start) < 5*short; n++ {
		msg := fmt.Sprintf("message %d", n)
		if _, err := io.WriteString(nc, msg); err != nil {
			t.Fatalf("write after %v: %v", time.Since(start), err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(nc, got); err != nil || string(got) != msg {
			t.Fatalf("echo after %v: %q, %v", time.Since(start), got, err)
		}
	}
}
