package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jobsshd/internal/testwait"
)

// termSocket is a /terminal WebSocket driven from Go as the page drives it.
type termSocket struct {
	t       *testing.T
	c       *websocket.Conn
	session string
	out     bytes.Buffer // output received
	offset  int64        // where out starts in the shell's output
	exit    map[string]any
}

// dialTerm opens /terminal with the token and query, and, unless the agent refuses it,
// reads the "attached" event.
func dialTerm(t *testing.T, w *termWeb, query url.Values) (*termSocket, error) {
	t.Helper()
	if query.Get("cols") == "" {
		query.Set("cols", "80")
		query.Set("rows", "24")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+w.addr+"/terminal?"+query.Encode(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + w.token}},
	})
	if err != nil {
		t.Fatalf("dial /terminal: %v", err)
	}
	c.SetReadLimit(1 << 20)
	s := &termSocket{t: t, c: c}
	t.Cleanup(func() { _ = c.CloseNow() })
	typ, p, err := c.Read(ctx)
	if err != nil {
		return s, err
	}
	var ev struct {
		Type    string
		Session string
		Offset  int64
	}
	if typ != websocket.MessageText || json.Unmarshal(p, &ev) != nil || ev.Type != "attached" {
		t.Fatalf("first message: got %v %q, want the attached event", typ, p)
	}
	s.session, s.offset = ev.Session, ev.Offset
	return s, nil
}

func (s *termSocket) send(kind byte, payload []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.c.Write(ctx, websocket.MessageBinary, append([]byte{kind}, payload...))
}

func (s *termSocket) input(text string) {
	s.t.Helper()
	if err := s.send(0, []byte(text)); err != nil {
		s.t.Fatalf("send input: %v", err)
	}
}

// readUntil reads output (acknowledging it as the page does) until it contains want.
func (s *termSocket) readUntil(want string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for !strings.Contains(s.out.String(), want) {
		s.readOnce(ctx, want)
	}
	return s.out.String()
}

// readOnce reads one message: an event, or output, which it acknowledges.
func (s *termSocket) readOnce(ctx context.Context, waitingFor string) {
	s.t.Helper()
	typ, p, err := s.c.Read(ctx)
	if err != nil {
		s.t.Fatalf("read until %q: %v; got %q", waitingFor, err, s.out.String())
	}
	if typ == websocket.MessageText {
		_ = json.Unmarshal(p, &s.exit)
		return
	}
	s.out.Write(p)
	ack := binary.BigEndian.AppendUint64(nil, uint64(s.offset)+uint64(s.out.Len()))
	if err := s.send(2, ack); err != nil {
		s.t.Fatalf("ack: %v", err)
	}
}

// termPIDLine is the output of `echo PID=$$`.
var termPIDLine = regexp.MustCompile(`PID=(\d+)\r\n`)

// readMatch reads output until re matches it, and returns the match.
func (s *termSocket) readMatch(re *regexp.Regexp) []string {
	s.t.Helper()
	for {
		if m := re.FindStringSubmatch(s.out.String()); m != nil {
			return m
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		s.readOnce(ctx, re.String())
		cancel()
	}
}

// closeCode reads until the socket ends and returns the agent's close code.
func (s *termSocket) closeCode() websocket.StatusCode {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		typ, p, err := s.c.Read(ctx)
		if err != nil {
			return websocket.CloseStatus(err)
		}
		if typ == websocket.MessageText {
			_ = json.Unmarshal(p, &s.exit)
		}
	}
}

// TestWebTerminalBadMessages: what the protocol forbids closes that socket with a code
// that says why, and another socket's shell carries on.
func TestWebTerminalBadMessages(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	good, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		send func(c *websocket.Conn) error
		want websocket.StatusCode
	}{
		{"text message", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte("ls\n"))
		}, websocket.StatusUnsupportedData},
		{"junk resize", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageBinary, []byte{1, 'j', 'u', 'n', 'k', '!'})
		}, websocket.StatusInvalidFramePayloadData},
		{"resize to zero", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageBinary, []byte{1, 0, 0, 0, 24})
		}, websocket.StatusInvalidFramePayloadData},
		{"unknown type", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageBinary, []byte{9})
		}, websocket.StatusInvalidFramePayloadData},
		{"ack of output never sent", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageBinary, append([]byte{2}, binary.BigEndian.AppendUint64(nil, 1<<40)...))
		}, websocket.StatusInvalidFramePayloadData},
		{"16 MiB frame", func(c *websocket.Conn) error {
			_ = c.Write(context.Background(), websocket.MessageBinary, make([]byte, 16<<20)) // the agent closes while it is sent
			return nil
		}, websocket.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := dialTerm(t, w, url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.send(bad.c); err != nil {
				t.Fatalf("send: %v", err)
			}
			if got := bad.closeCode(); got != tt.want {
				t.Errorf("close code: got %v, want %v", got, tt.want)
			}
		})
	}
	good.input("echo alive-$((6*7))\n")
	good.readUntil("alive-42")
}

// TestWebTerminalYesNobodyReads: a `yes` whose page does not read, or reads without
// acknowledging, is held back at the pty: the page gets at most the flow window, and
// the agent's memory stays within 16 MiB of where it was.
func TestWebTerminalYesNobodyReads(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	warm, err := dialTerm(t, w, url.Values{}) // the first shell's allocations belong to the baseline
	if err != nil {
		t.Fatal(err)
	}
	warm.input("echo warm\n")
	warm.readUntil("warm")
	base := agentRSS(t, w.cmd.Process.Pid)

	stuck, err := dialTerm(t, w, url.Values{}) // never reads
	if err != nil {
		t.Fatal(err)
	}
	stuck.input("yes stuck\n")
	noAck, err := dialTerm(t, w, url.Values{}) // reads, never acknowledges
	if err != nil {
		t.Fatal(err)
	}
	noAck.input("yes noack\n")
	received := make(chan int, 1)
	go func() {
		n := 0
		defer func() { received <- n }()
		for {
			_, p, err := noAck.c.Read(context.Background())
			if err != nil {
				return
			}
			n += len(p)
		}
	}()
	peak := base
	deadline := time.Now().Add(3 * time.Second) // how long `yes` gets to pile up output
	for time.Now().Before(deadline) {
		peak = max(peak, agentRSS(t, w.cmd.Process.Pid))
		time.Sleep(50 * time.Millisecond) // a sampling interval, not a wait for an event
	}
	if grew := peak - base; grew > 16<<20 {
		t.Errorf("agent RSS grew by %d MiB while nobody read two `yes`, want at most 16 MiB", grew>>20)
	}
	t.Logf("agent RSS: %d MiB before, peak %d MiB", base>>20, peak>>20)
	if !yesRunning(t) {
		t.Fatal("no `yes` of the account is running: the test measured nothing")
	}
	noAck.c.CloseNow()
	if n := <-received; n > 128<<10 || n < 16<<10 {
		t.Errorf("a page that never acknowledged received %d bytes, want some but at most the flow window (64 KiB) and one read", n)
	}
}

// agentRSS is the resident set of pid, in bytes.
func agentRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("parse %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

func yesRunning(t *testing.T) bool {
	out, _ := exec.Command("pgrep", "-u", defaultTestUser, "-x", "yes").Output() // exit 1: none
	return strings.TrimSpace(string(out)) != ""
}

// TestWebTerminalReconnect: a page that comes back with its session id gets its shell
// and the output it missed; after --web-reconnect without a page, the shell is hung up
// like a closed SSH session, and its id no longer works.
func TestWebTerminalReconnect(t *testing.T) {
	w := startTermWeb(t, agentOptions{Args: []string{"--web-reconnect", "2s"}})
	first, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	first.input("echo PID=$$; echo MARK-$((1+1))\n")
	first.readUntil("MARK-2")
	pid := first.readMatch(termPIDLine)[1]
	first.c.CloseNow() // dropped, as by a proxy

	again, err := dialTerm(t, w, url.Values{"session": {first.session}, "offset": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.offset != 0 {
		t.Errorf("replay starts at %d, want 0: less than 64 KiB of output was written", again.offset)
	}
	again.readUntil("MARK-2") // replayed
	again.input("echo SAME=$$\n")
	again.readUntil("SAME=" + pid)

	unknown := url.Values{"session": {strings.Repeat("A", len(first.session))}, "offset": {"0"}}
	if _, err := dialTerm(t, w, unknown); websocket.CloseStatus(err) != 4404 {
		t.Errorf("an unknown session id: got %v, want close 4404", err)
	}

	again.c.CloseNow()
	testwait.For(t, 20*time.Second, "the shell to be hung up after --web-reconnect", func() bool {
		_, err := os.Stat("/proc/" + pid)
		return os.IsNotExist(err)
	})
	if !strings.Contains(w.Logs(), "event=web.terminal.expire") || !strings.Contains(w.Logs(), "signal=HUP") {
		t.Errorf("the log does not show the expiry and the hangup:\n%s", w.Logs())
	}
	if _, err := dialTerm(t, w, url.Values{"session": {first.session}, "offset": {"0"}}); websocket.CloseStatus(err) != 4404 {
		t.Errorf("the expired session's id: got %v, want close 4404", err)
	}
}

// TestWebTerminalPageClosed: a page that is closed or reloaded says goodbye (close code
// 4000), and its shell is hung up at once, not kept for --web-reconnect (5 minutes).
func TestWebTerminalPageClosed(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	s, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	s.input("echo PID=$$\n")
	m := s.readMatch(termPIDLine)
	if err := s.c.Close(4000, "page closed"); err != nil {
		t.Fatalf("close: %v", err)
	}
	testwait.For(t, 10*time.Second, "the closed page's shell to be hung up", func() bool {
		_, err := os.Stat("/proc/" + m[1])
		return os.IsNotExist(err)
	})
	if _, err := dialTerm(t, w, url.Values{"session": {s.session}, "offset": {"0"}}); websocket.CloseStatus(err) != 4404 {
		t.Errorf("the closed page's session id: got %v, want close 4404", err)
	}
}

// TestWebTerminalShellExits: when the shell exits, the page gets all of its output,
// then its exit status, then a normal close; and the shell's place is free again.
func TestWebTerminalShellExits(t *testing.T) {
	w := startTermWeb(t, agentOptions{Args: []string{"--max-sessions", "1"}})
	s, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dialTerm(t, w, url.Values{}); websocket.CloseStatus(err) != 4429 {
		t.Errorf("a second shell over --max-sessions 1: got %v, want close 4429", err)
	}
	s.input("seq 1 20000 | tail -n 1; exit 3\n")
	s.readUntil("20000\r\n")
	if code := s.closeCode(); code != websocket.StatusNormalClosure {
		t.Errorf("close after the shell's exit: got %v, want %v", code, websocket.StatusNormalClosure)
	}
	if s.exit["type"] != "exit" || s.exit["status"] != float64(3) {
		t.Errorf("exit event: got %v, want status 3", s.exit)
	}
	next, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatalf("a new shell once the first has ended: %v", err)
	}
	next.input("echo next\n")
	next.readUntil("next\r\n")
}

// TestWebTerminalReplaysTheLast64KiB: a page that comes back with nothing (offset 0)
// after more output than the agent keeps gets at least the last 64 KiB of it, and is
// told where that starts.
func TestWebTerminalReplaysTheLast64KiB(t *testing.T) {
	w := startTermWeb(t, agentOptions{})
	first, err := dialTerm(t, w, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	first.input("seq 1 50000; echo END-$((2*3))\n") // about 290 KB
	first.readUntil("END-6\r\n")
	total := first.offset + int64(first.out.Len())
	first.c.CloseNow()

	again, err := dialTerm(t, w, url.Values{"session": {first.session}, "offset": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.offset <= 0 || total-again.offset < 64<<10 {
		t.Fatalf("replay starts at %d of %d bytes: want a later start, with at least 64 KiB to replay", again.offset, total)
	}
	replay := again.readUntil("END-6\r\n")
	if !strings.Contains(replay, "\r\n50000\r\n") || int64(len(replay)) < 64<<10 {
		t.Errorf("replayed %d bytes, want at least 64 KiB ending with the last lines", len(replay))
	}
}
