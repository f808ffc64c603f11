package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// jsonLog collects a logger's JSON lines while a server writes them.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records parses every line so far; a line that is not a JSON object fails the test.
func (l *jsonLog) records(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	text := l.buf.String()
	l.mu.Unlock()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not a JSON object: %v\n%s", err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

// find returns the first record of event whose fields include want (compared as they
// read after a JSON round trip: numbers are float64), or nil.
func (l *jsonLog) find(t testing.TB, event string, want map[string]any) map[string]any {
	t.Helper()
	for _, rec := range l.records(t) {
		if rec["event"] == event && hasFields(rec, want) {
			return rec
		}
	}
	return nil
}

// await is find, polling until the record is there (log lines may follow what the
// client sees).
func (l *jsonLog) await(t testing.TB, event string, want map[string]any) map[string]any {
	t.Helper()
	var rec map[string]any
	if !testwait.Until(testwait.Default, func() bool { rec = l.find(t, event, want); return rec != nil }) {
		t.Fatalf("no %s record with %v in the log:\n%s", event, want, l.String())
	}
	return rec
}

func (l *jsonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func hasFields(rec, want map[string]any) bool {
	for k, v := range want {
		got, ok := rec[k]
		if !ok || fmt.Sprint(got) != fmt.Sprint(asJSON(v)) {
			return false
		}
	}
	return true
}

func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var got any
	if json.Unmarshal(b, &got) != nil {
		return v
	}
	return got
}

func startLoggedTestServer(t *testing.T) (*Server, ssh.Signer, *jsonLog) {
	t.Helper()
	log := &jsonLog{}
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(log, nil))
	})
	return srv, signer, log
}

func TestAuditLogSessions(t *testing.T) {
	t.Parallel()
	srv, signer, log := startLoggedTestServer(t)
	client := dialClient(t, srv, signer)
	local := client.Conn.LocalAddr().String()
	login := log.await(t, "auth.accept", map[string]any{"remote": local, "user": "tester"})
	if key, _ := login["key"].(string); !strings.HasPrefix(key, "SHA256:") {
		t.Errorf("auth.accept key = %q, want the key's SHA256 fingerprint", key)
	}
	log.await(t, "connection.open", map[string]any{"remote": local})

	run := func(cmd string) error {
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return s.Run(cmd)
	}
	var exitErr *ssh.ExitError
	if err := run("exit 3"); !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 {
		t.Fatalf("exit 3: got %v, want exit status 3", err)
	}
	identity := map[string]any{"remote": local, "user": "tester", "session": "exec", "command": "exit 3"}
	start := log.await(t, "session.start", identity)
	if start["pty"] != false || start["pid"] == nil {
		t.Errorf("session.start = %v, want pty false and a pid", start)
	}
	end := log.await(t, "session.end", identity)
	if end["exit"] != 3.0 || end["duration"] == nil {
		t.Errorf("session.end = %v, want exit 3 and a duration", end)
	}

	if err := run("kill -TERM $$"); !errors.As(err, &exitErr) || exitErr.Signal() != "TERM" {
		t.Fatalf("kill -TERM $$: got %v, want exit signal TERM", err)
	}
	end = log.await(t, "session.end", map[string]any{"command": "kill -TERM $$", "signal": "TERM"})
	if _, ok := end["exit"]; ok {
		t.Errorf("session.end of a killed command = %v, want a signal and no exit status", end)
	}

	client.Close()
	closed := log.await(t, "connection.close", map[string]any{"remote": local, "user": "tester"})
	if closed["duration"] == nil {
		t.Errorf("connection.close = %v, want a duration", closed)
	}
}

func TestAuditLogForward(t *testing.T) {
	t.Parallel()
	srv, signer, log := startLoggedTestServer(t)
	client := dialClient(t, srv, signer)
	echo := startEchoServer(t)
	c, err := client.Dial("tcp", echo)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"kind": "direct-tcpip", "target": echo, "user": "tester", "remote": client.Conn.LocalAddr().String()}
	log.await(t, "forward.open", want)
	data := randomBytes(t, 100000)
	got, err := echoRoundTrip(c.(halfCloser), data)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echo through the tunnel: %d bytes back, %v; want the %d sent", len(got), err, len(data))
	}
	c.Close()
	want["bytes_from_client"], want["bytes_to_client"] = len(data), len(data)
	if rec := log.await(t, "forward.close", want); rec["duration"] == nil || rec["originator"] == nil {
		t.Errorf("forward.close = %v, want a duration and the originator", rec)
	}

	// A remote forward (ssh -R): the connection arrives at the agent's listener, and
	// the client's side echoes.
	ln, err := client.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	got, err = echoRoundTrip(conn.(*net.TCPConn), data[:5000])
	if err != nil || !bytes.Equal(got, data[:5000]) {
		t.Fatalf("echo through the remote forward: %d bytes back, %v; want 5000", len(got), err)
	}
	conn.Close()
	log.await(t, "forward.close", map[string]any{"kind": "forwarded-tcpip", "target": ln.Addr().String(),
		"originator": conn.LocalAddr().String(), "bytes_from_client": 5000, "bytes_to_client": 5000})
}

// TestLogProgramLines: a transfer program's lines are untrusted; events are logged with
// their own fields only, under the session's identity, and anything else is bounded.
func TestLogProgramLines(t *testing.T) {
	t.Parallel()
	long := `{"event":"file.open","path":"/` + strings.Repeat("a", maxProgramLogLine) + `"}`
	input := strings.Join([]string{
		`{"event":"file.close","path":"/h/up.bin","mode":"write","bytes_written":1048576,"user":"root","remote":"10.0.0.1:22","session":"shell","future":1}`,
		`{"event":"file.rename","path":"/h/a","new_path":"/h/b","bytes_read":5}`,
		`scp: /h/x: No such file or directory`,
		long,
		`{"event":"user.login","path":"/h/a"}`,
		`{"event":"file.close","path":"/h/a","bytes_read":-1}`,
		`{"event":"file.remove"`,
		`{"event":"file.remove","path":"/h/after"}`,
	}, "\n") + "\n"
	var out jsonLog
	log := slog.New(slog.NewJSONHandler(&out, nil)).With("remote", "192.0.2.1:5000", "user", "tester", "session", "scp")
	logProgramLines(io.NopCloser(strings.NewReader(input)), log)

	recs := out.records(t)
	if len(recs) != 8 {
		t.Fatalf("got %d records, want 8 (3 events, 1 error, 4 dropped lines):\n%s", len(recs), out.String())
	}
	closed := out.find(t, "file.close", map[string]any{"path": "/h/up.bin"})
	if closed == nil || !hasFields(closed, map[string]any{"remote": "192.0.2.1:5000", "user": "tester", "session": "scp", "mode": "write", "bytes_written": 1048576, "bytes_read": 0}) {
		t.Errorf("file.close = %v, want the session's identity, mode write, bytes_written 1048576, bytes_read 0", closed)
	}
	if strings.Contains(out.String(), "root") || strings.Contains(out.String(), "10.0.0.1") || strings.Contains(out.String(), "future") {
		t.Errorf("fields from the program's line reached the log:\n%s", out.String())
	}
	rename := out.find(t, "file.rename", map[string]any{"path": "/h/a", "new_path": "/h/b"})
	if rename == nil {
		t.Errorf("no file.rename record:\n%s", out.String())
	} else if _, ok := rename["bytes_read"]; ok {
		t.Errorf("file.rename = %v, want no byte counts", rename)
	}
	if out.find(t, "file.remove", map[string]any{"path": "/h/after"}) == nil {
		t.Errorf("the event after the dropped lines is missing:\n%s", out.String())
	}
	var errorLines, dropped int
	for _, rec := range recs {
		switch rec["msg"] {
		case "transfer error":
			errorLines++
		case "transfer log line dropped":
			dropped++
		}
	}
	if errorLines != 1 || dropped != 4 {
		t.Errorf("got %d transfer errors and %d dropped lines, want 1 and 4:\n%s", errorLines, dropped, out.String())
	}
}

func TestLogProgramLinesBoundsErrors(t *testing.T) {
	t.Parallel()
	input := strings.Repeat("scp: failure\n", maxProgramLogLines+50) + `{"event":"file.mkdir","path":"/h/d"}` + "\n"
	var out jsonLog
	logProgramLines(io.NopCloser(strings.NewReader(input)), slog.New(slog.NewJSONHandler(&out, nil)))
	recs := out.records(t)
	if len(recs) != maxProgramLogLines+1 {
		t.Errorf("got %d records, want %d errors and the event", len(recs), maxProgramLogLines)
	}
	if out.find(t, "file.mkdir", map[string]any{"path": "/h/d"}) == nil {
		t.Errorf("the event after the error limit is missing")
	}
}
