package agent

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// recordingChannel is an ssh.Channel that records, in order, what the server does to it.
type recordingChannel struct {
	mu     sync.Mutex
	events []string
	stdout bytes.Buffer
	stderr bytes.Buffer
	input  io.Reader
}

func (c *recordingChannel) record(e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Consecutive writes to one stream are one event: how output is split into reads
	// depends on scheduling, the order of the events does not.
	if n := len(c.events); n > 0 && c.events[n-1] == e && strings.HasPrefix(e, "write ") {
		return
	}
	c.events = append(c.events, e)
}

func (c *recordingChannel) Read(p []byte) (int, error) { return c.input.Read(p) }
func (c *recordingChannel) Write(p []byte) (int, error) {
	c.record("write stdout")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stdout.Write(p)
}
func (c *recordingChannel) Close() error      { c.record("close"); return nil }
func (c *recordingChannel) CloseWrite() error { c.record("eof"); return nil }
func (c *recordingChannel) SendRequest(name string, wantReply bool, payload []byte) (bool, error) {
	var detail string
	switch name {
	case "exit-status":
		var m struct{ Status uint32 }
		_ = ssh.Unmarshal(payload, &m)
		detail = fmt.Sprint(m.Status)
	case "exit-signal":
		var m struct {
			Signal        string
			Core          bool
			Message, Lang string
		}
		_ = ssh.Unmarshal(payload, &m)
		detail = m.Signal
	}
	c.record(name + " " + detail)
	return true, nil
}
func (c *recordingChannel) Stderr() io.ReadWriter { return stderrRecorder{c} }

type stderrRecorder struct{ c *recordingChannel }

func (s stderrRecorder) Read([]byte) (int, error) { return 0, io.EOF }
func (s stderrRecorder) Write(p []byte) (int, error) {
	s.c.record("write stderr")
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.stderr.Write(p)
}

// testServer is a Server serving the account the test runs as, with /bin/sh.
func testServer(t *testing.T) *Server {
	t.Helper()
	home := t.TempDir()
	return &Server{
		cfg:     Config{AcceptEnv: []string{"LANG"}}.withDefaults(),
		log:     slog.New(slog.DiscardHandler),
		account: &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: home, Shell: "/bin/sh"},
		environ: []string{"PATH=" + os.Getenv("PATH")},
	}
}

// TestTeardownOrder pins the order in which a session ends (docs/architecture.md): all output
// first, then EOF, then exit-status or exit-signal, then close. A server that sends
// exit-status or closes before the output is drained loses the tail of the output.
func TestTeardownOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		command    string
		wantEnd    []string // the events after the output
		wantStdout int
		wantStderr string
	}{
		{
			name:       "exit status after all output",
			command:    "head -c 1048576 /dev/zero; echo tail >&2; exit 3",
			wantEnd:    []string{"eof", "exit-status 3", "close"},
			wantStdout: 1048576,
			wantStderr: "tail\n",
		},
		{
			name:       "exit signal after all output",
			command:    "head -c 300000 /dev/zero; kill -KILL $$",
			wantEnd:    []string{"eof", "exit-signal KILL", "close"},
			wantStdout: 300000,
		},
		{
			name:    "no output",
			command: "exit 0",
			wantEnd: []string{"eof", "exit-status 0", "close"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch := &recordingChannel{input: strings.NewReader("")}
			sess := &session{srv: testServer(t), ch: ch, log: slog.New(slog.DiscardHandler), done: make(chan struct{})}
			if !sess.start(sess.srv.shellProgram(tt.command), tt.command) {
				t.Fatal("start refused")
			}
			sess.afterReply()
			<-sess.done
			sess.copiers.Wait()
			ch.mu.Lock()
			defer ch.mu.Unlock()
			// stdout and stderr are copied concurrently and may interleave; what is
			// pinned is that every write comes before the end.
			writes := 0
			for writes < len(ch.events) && strings.HasPrefix(ch.events[writes], "write ") {
				writes++
			}
			if got, want := strings.Join(ch.events[writes:], ", "), strings.Join(tt.wantEnd, ", "); got != want {
				t.Errorf("got events %s, want the output followed by %s", strings.Join(ch.events, ", "), want)
			}
			if ch.stdout.Len() != tt.wantStdout || ch.stderr.String() != tt.wantStderr {
				t.Errorf("got %d bytes of stdout and stderr %q, want %d and %q", ch.stdout.Len(), ch.stderr.String(), tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// TestStartFailureIsReported checks that a shell that cannot run gives the client a
// message and exit status 127 rather than a silent success.
func TestStartFailureIsReported(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	srv.account.Shell = "/nonexistent/shell"
	ch := &recordingChannel{input: strings.NewReader("")}
	sess := &session{srv: srv, ch: ch, log: slog.New(slog.DiscardHandler), done: make(chan struct{})}
	sess.start(srv.shellProgram("true"), "true")
	sess.afterReply()
	<-sess.done
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if got, want := strings.Join(ch.events, ", "), "write stderr, eof, exit-status 127, close"; got != want {
		t.Errorf("got events %s, want %s", got, want)
	}
	if !strings.Contains(ch.stderr.String(), "/nonexistent/shell") {
		t.Errorf("got stderr %q, want it to name the shell", ch.stderr.String())
	}
}

// TestNoEndBeforeTheReply pins that a program which exits at once does not end its
// channel until the request that started it has been answered: an exit-status and close
// arriving before the reply make clients fail the request with EOF. (Output may flow
// already; clients buffer it.)
func TestNoEndBeforeTheReply(t *testing.T) {
	t.Parallel()
	ch := &recordingChannel{input: strings.NewReader("")}
	sess := &session{srv: testServer(t), ch: ch, log: slog.New(slog.DiscardHandler), done: make(chan struct{})}
	if !sess.start(sess.srv.shellProgram("echo quick"), "echo quick") {
		t.Fatal("start refused")
	}
	// The events that prove the point, instead of a sleep: the program has exited and
	// all its output has been copied, so anything that could end the channel early has
	// had its chance.
	awaitExit(sess.proc.cmd.Process.Pid)
	sess.proc.outDone.Wait()
	ch.mu.Lock()
	early := strings.Join(ch.events, ", ")
	ch.mu.Unlock()
	if early != "write stdout" {
		t.Errorf("got events %q once the program exited, before the reply; want only its output", early)
	}
	sess.afterReply()
	<-sess.done
	sess.copiers.Wait()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if got := strings.Join(ch.events, ", "); got != "write stdout, eof, exit-status 0, close" {
		t.Errorf("got events %s after the reply, want the output, eof, exit-status 0, close", got)
	}
}
