package agent

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// testClock is a clock a test sets.
type testClock struct{ t atomic.Int64 }

func (c *testClock) Now() time.Time           { return time.Unix(c.t.Load(), 0) }
func (c *testClock) set(t time.Time)          { c.t.Store(t.Unix()) }
func (c *testClock) stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// readStatusFile reads the server's status.json.
func readStatusFile(t *testing.T, srv *Server) (Status, error) {
	t.Helper()
	var st Status
	b, err := os.ReadFile(filepath.Join(srv.cfg.StateDir, StatusFileName))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

// waitForLive waits until status.json's live figures are want.
func waitForLive(t *testing.T, srv *Server, want StatusLive) {
	t.Helper()
	var got StatusLive
	if !testwait.Until(10*time.Second, func() bool {
		st, err := readStatusFile(t, srv)
		got = st.Live
		return err == nil && got == want
	}) {
		t.Fatalf("status.json live figures %+v, want %+v", got, want)
	}
}

// TestStatusLiveFigures: status.json follows logins, sessions and their data, and says
// when the last activity was.
func TestStatusLiveFigures(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	start := time.Now().Truncate(time.Second)
	clock.set(start)
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, func(c *Config) { c.Now, c.StatusRefresh = clock.Now, 10*time.Millisecond })
	waitForLive(t, srv, StatusLive{})

	login := start.Add(time.Minute)
	clock.set(login)
	client, err := dial(t, srv, "tester", signer)
	if err != nil {
		t.Fatal(err)
	}
	waitForLive(t, srv, StatusLive{Connections: 1, LastActivity: clock.stamp(login)})

	opened := login.Add(time.Minute)
	clock.set(opened)
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("cat"); err != nil {
		t.Fatal(err)
	}
	waitForLive(t, srv, StatusLive{Connections: 1, Sessions: 1, LastActivity: clock.stamp(opened)})

	// A keepalive is not activity; data is.
	clock.set(opened.Add(time.Minute))
	if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.live.figures().LastActivity; got != clock.stamp(opened) {
		t.Errorf("after a keepalive last activity %s, want %s still", got, clock.stamp(opened))
	}
	typed := opened.Add(2 * time.Minute)
	clock.set(typed)
	if _, err := stdin.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(stdout, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	waitForLive(t, srv, StatusLive{Connections: 1, Sessions: 1, LastActivity: clock.stamp(typed)})

	closed := typed.Add(time.Minute)
	clock.set(closed)
	_ = stdin.Close() // cat ends
	if err := sess.Wait(); err != nil {
		t.Fatal(err)
	}
	waitForLive(t, srv, StatusLive{Connections: 1, LastActivity: clock.stamp(closed)})
	client.Close()
	waitForLive(t, srv, StatusLive{LastActivity: clock.stamp(closed)})
}

// TestStatusLiveNoWriteAfterShutdown: Shutdown removes status.json and nothing writes
// it again, even with a change waiting to be written.
func TestStatusLiveNoWriteAfterShutdown(t *testing.T) {
	t.Parallel()
	l := newLiveStatus(time.Hour, time.Now)
	writes := make(chan StatusLive, 10)
	l.write = func(f StatusLive) { writes <- f }
	go l.run(StatusLive{})
	l.add(&l.sessions, 1) // written at once: nothing was written before
	if f := <-writes; f.Sessions != 1 {
		t.Fatalf("first write %+v, want 1 session", f)
	}
	l.add(&l.sessions, 1) // waits an hour
	l.halt(true)
	select {
	case f := <-writes:
		t.Errorf("written after halt: %+v", f)
	default:
	}
}

// BenchmarkLiveStatusTouch is what each channel read or write pays for the live
// figures (BENCHMARKS.md, "status.json live figures").
func BenchmarkLiveStatusTouch(b *testing.B) {
	l := newLiveStatus(time.Hour, time.Now)
	for b.Loop() {
		l.touch()
	}
}
