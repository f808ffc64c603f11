package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"jobsshd/internal/loglimit"
	"jobsshd/internal/testwait"
)

// queuedListener hands out the connections queued in it, then errPaused, so that a
// test drives limitListener.Accept in its own goroutine, one batch at a time.
type queuedListener struct {
	net.Listener // nil: only Accept is called
	queue        []net.Conn
}

var errPaused = errors.New("no connection queued")

func (q *queuedListener) Accept() (net.Conn, error) {
	if len(q.queue) == 0 {
		return nil, errPaused
	}
	c := q.queue[0]
	q.queue = q.queue[1:]
	return c, nil
}

// add queues n connections and returns the peers' ends.
func (q *queuedListener) add(t *testing.T, n int) []net.Conn {
	var peers []net.Conn
	for range n {
		server, client := net.Pipe()
		t.Cleanup(func() { server.Close(); client.Close() })
		q.queue = append(q.queue, server)
		peers = append(peers, client)
	}
	return peers
}

// TestConnectionLimitLogLine: each connection past the bound is closed and logged as
// web.refuse with the bounds, through the server's rate limiter: a flood of refusals
// gives loglimit.Burst lines a second, and the first line of the next second counts
// the others.
func TestConnectionLimitLogLine(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var buf bytes.Buffer
	q := &queuedListener{}
	l := &limitListener{Listener: q, max: 2, perSource: 5, log: slog.New(slog.NewJSONHandler(&buf, nil)),
		refusals: &loglimit.Limiter{Now: func() time.Time { return now }}}
	l.open.Store(2) // the bound is reached

	const flood = 3 * loglimit.Burst
	peers := q.add(t, flood)
	if c, err := l.Accept(); !errors.Is(err, errPaused) {
		t.Fatalf("Accept past the bound: got %v, %v; want every connection refused", c, err)
	}
	for i, p := range peers {
		_ = p.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := p.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("refused connection %d: read %d bytes, %v; want it closed (EOF)", i, n, err)
		}
	}
	lines := refuseLines(t, &buf)
	if len(lines) != loglimit.Burst {
		t.Fatalf("%d refusals in one second gave %d lines, want %d (rate-limited)", flood, len(lines), loglimit.Burst)
	}
	for _, line := range lines {
		if line["level"] != "WARN" || line["max"] != 2.0 || line["max_per_address"] != 5.0 || line["not_logged_before"] != nil {
			t.Errorf("got %v, want a WARN line with max 2, max_per_address 5, nothing dropped before", line)
		}
	}

	now = now.Add(1100 * time.Millisecond)
	q.add(t, 1)
	if c, err := l.Accept(); !errors.Is(err, errPaused) {
		t.Fatalf("Accept past the bound: got %v, %v; want the connection refused", c, err)
	}
	lines = refuseLines(t, &buf)
	if len(lines) != 1 || lines[0]["not_logged_before"] != float64(flood-loglimit.Burst) {
		t.Errorf("the next second: got %v, want one line with not_logged_before %d", lines, flood-loglimit.Burst)
	}
}

// refuseLines parses and empties buf, and fails unless every line is a web.refuse one.
func refuseLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		if line["msg"] != "web connection refused: too many connections" || line["event"] != "web.refuse" {
			t.Fatalf("got %v, want the web.refuse line", line)
		}
		lines = append(lines, line)
	}
	buf.Reset()
	return lines
}

// TestConnectionLimitLogsThroughServer: the server's listener logs its refusals with
// the server's logger (component web), so they reach the agent's log.
func TestConnectionLimitLogsThroughServer(t *testing.T) {
	var logs lockedBuffer
	s := startRealServer(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, func(s *Server) { s.maxConns = 1 })
	held, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	if !testwait.Until(5*time.Second, func() bool { return s.ln.(*limitListener).open.Load() == 1 }) {
		t.Fatalf("the server holds %d connections, want 1", s.ln.(*limitListener).open.Load())
	}
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	const want = `"component":"web","event":"web.refuse","max":1`
	if !testwait.Until(5*time.Second, func() bool { return strings.Contains(logs.String(), want) }) {
		t.Errorf("the server's log has no %s line:\n%s", want, logs.String())
	}
}

// lockedBuffer is a log destination the test reads while the server writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
