package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// TestDisconnectPacket decodes what refuseEarly sends as RFC 4253 §6 says a peer must.
func TestDisconnectPacket(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{"", "x", "too many connections (256)", strings.Repeat("y", 300)} {
		pkt := disconnectPacket(disconnectTooManyConnections, msg)
		length := binary.BigEndian.Uint32(pkt)
		padding := int(pkt[4])
		if int(length)+4 != len(pkt) || len(pkt)%8 != 0 || padding < 4 {
			t.Fatalf("message %q: packet length %d, total %d, padding %d: want total = length+4, a multiple of 8, padding ≥ 4", msg, length, len(pkt), padding)
		}
		payload := pkt[5 : len(pkt)-padding]
		if payload[0] != 1 {
			t.Fatalf("message type %d, want 1 (SSH_MSG_DISCONNECT)", payload[0])
		}
		reason := binary.BigEndian.Uint32(payload[1:])
		n := binary.BigEndian.Uint32(payload[5:])
		got, lang := string(payload[9:9+n]), payload[9+n:]
		if reason != disconnectTooManyConnections || got != msg || !bytes.Equal(lang, []byte{0, 0, 0, 0}) {
			t.Errorf("got reason %d message %q language %x, want %d %q and an empty language tag", reason, got, lang, disconnectTooManyConnections, msg)
		}
	}
}

// TestBufferedConnRefusesNonSSH: a peer whose first bytes are not "SSH-" is refused at
// the first read, also when the prefix arrives a byte at a time.
func TestBufferedConnRefusesNonSSH(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		chunks []string
		ok     bool
	}{
		{"ssh version", []string{"SSH-2.0-OpenSSH_9.2\r\n"}, true},
		{"ssh version split", []string{"S", "SH", "-2.0-x\r\n"}, true},
		{"http", []string{"GET / HTTP/1.1\r\n"}, false},
		{"wrong after a good start", []string{"SS", "X"}, false},
		{"tls", []string{"\x16\x03\x01\x02\x00"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				for _, c := range tt.chunks {
					if _, err := client.Write([]byte(c)); err != nil {
						return
					}
				}
				client.Close()
			}()
			_, err := io.ReadAll(newBufferedConn(server))
			if got := err == nil; got != tt.ok {
				t.Errorf("got error %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, errNotSSH) {
				t.Errorf("got %v, want errNotSSH", err)
			}
		})
	}
}

// TestMaxSessions: sessions beyond the limit are refused with a readable reason, and a
// closed session frees its place.
func TestMaxSessions(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, func(c *Config) { c.MaxSessions = 2 })
	client := dialClient(t, srv, signer)
	var open []*ssh.Session
	for range 2 {
		s, err := client.NewSession()
		if err != nil {
			t.Fatalf("session within the limit: %v", err)
		}
		open = append(open, s)
	}
	_, err := client.NewSession()
	oce := openChannelError(t, err)
	if oce.Reason != ssh.ResourceShortage || oce.Message != "too many sessions on this connection (2)" {
		t.Errorf("third session: got %v, want resource shortage \"too many sessions on this connection (2)\"", oce)
	}
	open[0].Close()
	if !testwait.Until(testwait.Default, func() bool {
		s, err := client.NewSession()
		if err == nil {
			s.Close()
		}
		return err == nil
	}) {
		t.Error("a closed session did not free its place")
	}
}

// TestClientAliveDropsSilentClient: a client that never answers keepalive probes is
// dropped after ClientAliveCountMax of them; one that answers stays.
func TestClientAliveDropsSilentClient(t *testing.T) {
	t.Parallel()
	// Generous enough that a loaded machine running the race detector answers within
	// countMax intervals: the answering client must never be dropped by a slow reply.
	const interval, countMax = 200 * time.Millisecond, 3
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, func(c *Config) {
		c.ClientAliveInterval, c.ClientAliveCountMax = interval, countMax
	})
	silent, _ := connectProbed(t, srv, signer, false)
	answering, probes := connectProbed(t, srv, signer, true)
	ended := make(chan error, 1)
	go func() { ended <- silent.Wait() }()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatalf("a client that never answers probes is still connected after 10 s (interval %v, %d probes)", interval, countMax)
	}
	// The event that proves the point, instead of a sleep: the answering client has
	// answered more probes since than the silent one was allowed to miss.
	for i := range countMax + 1 {
		select {
		case <-probes:
		case <-time.After(10 * time.Second):
			t.Fatalf("the answering client got %d probes in 10 s after the silent one was dropped, want %d", i, countMax+1)
		}
	}
	if _, _, err := answering.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Errorf("the answering client was dropped: %v", err)
	}
}

// connectProbed logs in to srv. A client that answers replies "failure" to every global
// request, which counts as alive, and reports each arrival on probes; one that does
// not lets them pile up unanswered, like a client that vanished.
func connectProbed(t *testing.T, srv *Server, signer ssh.Signer, answer bool) (ssh.Conn, <-chan struct{}) {
	t.Helper()
	nc, err := net.Dial("tcp", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, "", &ssh.ClientConfig{User: "tester",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		for nc := range chans {
			_ = nc.Reject(ssh.Prohibited, "no")
		}
	}()
	probes := make(chan struct{}) // unbuffered: only probes that arrive while the test waits count
	if answer {
		go func() {
			for req := range reqs {
				if req.WantReply {
					_ = req.Reply(false, nil)
				}
				select {
				case probes <- struct{}{}:
				default: // the test is not waiting for one
				}
			}
		}()
	}
	return conn, probes
}

// TestRemoteForwardCap: a connection may hold maxRemoteForwards listeners, no more.
func TestRemoteForwardCap(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	for i := range maxRemoteForwards {
		ln, err := client.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("remote forward %d of %d: %v", i+1, maxRemoteForwards, err)
		}
		defer ln.Close()
	}
	if ln, err := client.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Fatalf("remote forward %d was granted, want refused", maxRemoteForwards+1)
	}
}

// TestRefusalLogIsRateLimited: a flood of refusals logs logBurst lines a second,
// and the next line logged counts the others.
func TestRefusalLogIsRateLimited(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	now := time.Now()
	s := &Server{refusals: logLimiter{Now: func() time.Time { return now }}}
	for range 3 * logBurst {
		s.logRefusal(log, "connection refused: test")
	}
	if got := strings.Count(buf.String(), "connection refused: test"); got != logBurst {
		t.Fatalf("logged %d refusals of %d in a burst, want %d", got, 3*logBurst, logBurst)
	}
	now = now.Add(1100 * time.Millisecond) // the second has passed
	s.logRefusal(log, "connection refused: test")
	if !strings.Contains(buf.String(), fmt.Sprintf("not_logged_before=%d", 2*logBurst)) {
		t.Errorf("the line after the burst does not count the %d refusals not logged:\n%s", 2*logBurst, buf.String())
	}
}
