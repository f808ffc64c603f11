package web

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestConnectionLimit: past the bound, a new connection is closed at once; once a
// held one leaves, connections are served again.
func TestConnectionLimit(t *testing.T) {
	s := startRealServer(t, Config{}, func(s *Server) { s.maxConns = 3 })
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		held = append(held, c)
	}
	// The held connections send nothing; the fourth is closed without an answer.
	if !testwait.Until(5*time.Second, func() bool { return s.ln.(*limitListener).open.Load() == 3 }) {
		t.Fatalf("the server holds %d connections, want 3", s.ln.(*limitListener).open.Load())
	}
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a connection past the bound: read %d bytes, %v; want it closed (EOF)", n, err)
	}
	held[0].Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	if !testwait.Until(5*time.Second, func() bool {
		resp, err := client.Get("http://" + s.Addr() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Error("after a held connection left, /healthz is still not served")
	}
}
