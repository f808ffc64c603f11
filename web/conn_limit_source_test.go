package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestConnectionLimitPerSource: one address holding its share of connections has the
// next one closed, while another address (here 127.0.0.2) is still served; a trusted
// proxy, which speaks for many clients, has no share of its own.
func TestConnectionLimitPerSource(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		refused bool
	}{
		{"stranger", nil, true},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRealServer(t, Config{TrustedProxies: tc.trusted}, func(s *Server) { s.maxConnsPerSource = 3 })
			from := func(ip string) net.Conn {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
				c, err := d.Dial("tcp", s.Addr())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			for range 3 {
				from("127.0.0.1")
			}
			ll := s.ln.(*limitListener)
			if !testwait.Until(5*time.Second, func() bool { return ll.open.Load() == 3 }) {
				t.Fatalf("the server holds %d connections, want 3", ll.open.Load())
			}
			extra := from("127.0.0.1")
			_ = extra.SetReadDeadline(time.Now().Add(time.Second))
			_, err := extra.Read(make([]byte, 1))
			if closed := err == io.EOF; closed != tc.refused {
				t.Errorf("a 4th connection from 127.0.0.1: read %v; want it closed at once: %v", err, tc.refused)
			}
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
					return d.DialContext(ctx, network, addr)
				}}}
			resp, err := client.Get("http://" + s.Addr() + "/healthz")
			if err != nil {
				t.Fatalf("another address while 127.0.0.1 holds its share: %v", err)
			}
			resp.Body.Close()
		})
	}
}
