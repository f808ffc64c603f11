package integration

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// Issue 10 items 7, 9 and 12: what a client sends, however large or often, leaves a
// bounded trace in the agent's log and memory. The clients are x/crypto's, or raw TCP
// where no client would send what an attacker does.

// logBoundsClients is how many hostile connections each test makes: on main, each one
// put ~250 KB (or more) into the log.
const logBoundsClients = 20

// maxLogLine is the longest line the tests accept from the agent: client strings are
// clipped to at most 1 KiB each (agent/log_clip.go), and a line has a few of them.
const maxLogLine = 4 << 10

// checkLogBounded fails the test when the agent's log (since offset) is longer than
// maxBytes or has a line longer than maxLogLine.
func checkLogBounded(t *testing.T, a *agent, offset, maxBytes int) {
	t.Helper()
	logs := a.Logs()[offset:]
	t.Logf("the agent logged %d bytes in %d lines", len(logs), strings.Count(logs, "\n"))
	if len(logs) > maxBytes {
		t.Errorf("the agent logged %d bytes, want at most %d", len(logs), maxBytes)
	}
	long := 0
	for i, line := range strings.Split(logs, "\n") {
		if len(line) > maxLogLine {
			if long++; long <= 3 {
				t.Errorf("log line %d is %d bytes, want at most %d: %.300s...", i+1, len(line), maxLogLine, line)
			}
		}
	}
	if long > 3 {
		t.Errorf("and %d more lines longer than %d bytes", long-3, maxLogLine)
	}
}

// TestLogBoundsLongUserName: clients that log in as a 250 KB user name, each offering a
// key, leave short, clipped auth.reject and connection.close lines, at most logBurst a
// second of each.
func TestLogBoundsLongUserName(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Args: []string{"--log-format", "json"}})
	offset := len(a.Logs())
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	user := strings.Repeat("u", 250_000)
	// At once, so that more than logBurst of them fall into one second however slow
	// the machine is; fewer than half of --max-unauthenticated (64), where random early
	// drop begins, so that none is refused before it offers its key.
	const clients = 30
	logins := make(chan error, clients)
	for range clients {
		go func() {
			cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second}
			c, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), cfg)
			if err == nil {
				c.Close()
			}
			logins <- err
		}()
	}
	for range clients {
		if err := <-logins; err == nil {
			t.Fatal("a client logged in as a 250 KB user name")
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("want a refused key, got %v", err)
		}
	}
	// Every connection has ended (the client returned): its lines are being written.
	testwait.Until(5*time.Second, func() bool { return strings.Count(a.Logs()[offset:], `"connection.close"`) >= logBurst })
	checkLogBounded(t, a, offset, clients*3*maxLogLine)
	if n := strings.Count(a.Logs()[offset:], `"auth.reject"`); n >= clients {
		t.Errorf("%d auth.reject lines for %d refused clients, want them rate-limited (%d a second)", n, clients, logBurst)
	}
	// Once the second has passed, the next refusal logged says how many were not.
	cfg := &ssh.ClientConfig{User: "nobody-here", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	counted := testwait.Until(5*time.Second, func() bool {
		if c, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), cfg); err == nil {
			c.Close()
		}
		for _, line := range strings.Split(a.Logs()[offset:], "\n") {
			if strings.Contains(line, `"event":"auth.reject"`) && strings.Contains(line, `"not_logged_before"`) {
				return true
			}
		}
		return false
	})
	if !counted {
		t.Errorf("no auth.reject line says how many refusals were not logged (not_logged_before)")
	}
	rec := logRecord(t, a, "auth.reject", nil)
	if u, _ := rec["user"].(string); !strings.Contains(u, "clipped: 250000 bytes") {
		t.Errorf("auth.reject user = %.200q, want it clipped with the full length", u)
	}
}

// logBurst is agent.logBurst: lines of one kind a second.
const logBurst = 10

// kexinitPacket is an unencrypted binary packet (RFC 4253 §6) carrying SSH_MSG_KEXINIT
// (§7.1) whose key exchange name-list is kexList; the other lists name what the agent
// offers, so that only the key exchange fails.
func kexinitPacket(kexList string) []byte {
	payload := ssh.Marshal(struct {
		Type                   uint8
		Cookie                 [16]byte
		KexAlgos, HostKeyAlgos []string
		CiphersCS, CiphersSC   []string
		MACsCS, MACsSC         []string
		ComprCS, ComprSC       []string
		LangCS, LangSC         []string
		FirstKexFollows        bool
		Reserved               uint32
	}{Type: 20, KexAlgos: []string{kexList}, HostKeyAlgos: []string{"ssh-ed25519"},
		CiphersCS: []string{"aes128-gcm@openssh.com"}, CiphersSC: []string{"aes128-gcm@openssh.com"},
		MACsCS: []string{"hmac-sha2-256-etm@openssh.com"}, MACsSC: []string{"hmac-sha2-256-etm@openssh.com"},
		ComprCS: []string{"none"}, ComprSC: []string{"none"}})
	return cleartextPacket(payload)
}

// cleartextPacket frames payload as a binary packet before key exchange (RFC 4253 §6):
// length, padding length, payload and zero padding together a multiple of 8 bytes, with
// at least 4 bytes of padding.
func cleartextPacket(payload []byte) []byte {
	padding := 8 - (5+len(payload))%8
	if padding < 4 {
		padding += 8
	}
	pkt := make([]byte, 5+len(payload)+padding)
	binary.BigEndian.PutUint32(pkt, uint32(1+len(payload)+padding))
	pkt[4] = byte(padding)
	copy(pkt[5:], payload)
	return pkt
}

// TestLogBoundsLongKexinit: a KEXINIT whose key exchange list is 250 KB of bogus names
// ends the connection with a clipped reason, not the list verbatim.
func TestLogBoundsLongKexinit(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Args: []string{"--log-format", "json"}})
	offset := len(a.Logs())
	names := make([]string, 0, 25_000)
	for i := 0; len(strings.Join(names, ",")) < 250_000; i++ {
		names = append(names, fmt.Sprintf("bogus-%04d", i))
	}
	packet := kexinitPacket(strings.Join(names, ","))
	for i := range logBoundsClients {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(append([]byte("SSH-2.0-flood_1.0\r\n"), packet...)); err != nil {
			t.Fatalf("client %d: send KEXINIT: %v", i, err)
		}
		// The agent answers with its version and KEXINIT, then closes: read to the end.
		if _, err := io.Copy(io.Discard, bufio.NewReader(c)); err != nil {
			t.Fatalf("client %d: read until the agent closes: %v", i, err)
		}
		c.Close()
	}
	testwait.Until(5*time.Second, func() bool { return strings.Count(a.Logs()[offset:], `"connection.close"`) >= logBurst })
	checkLogBounded(t, a, offset, logBoundsClients*3*maxLogLine)
	rec := logRecord(t, a, "connection.close", nil)
	if r, _ := rec["reason"].(string); !strings.Contains(r, "clipped") || !strings.Contains(r, "key exchange") {
		t.Errorf("connection.close reason = %.300q, want the key exchange failure, clipped", r)
	}
}

// sendEnvFlood sends n env requests named LC_FLOOD_<i> on a new session without
// waiting for replies, then one that waits, so that all n have been handled when it
// returns. The session stays open until the connection closes.
func sendEnvFlood(c *ssh.Client, n int, value string) error {
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	go ssh.DiscardRequests(reqs)
	for i := range n {
		payload := ssh.Marshal(struct{ Name, Value string }{fmt.Sprintf("LC_FLOOD_%d", i), value})
		if _, err := ch.SendRequest("env", false, payload); err != nil {
			return fmt.Errorf("env request %d: %w", i, err)
		}
	}
	if _, err := ch.SendRequest("env", true, ssh.Marshal(struct{ Name, Value string }{"LC_LAST", "x"})); err != nil {
		return fmt.Errorf("last env request: %w", err)
	}
	return nil
}

// TestLogBoundsLoggedInFlood: a logged-in client that sends 50,000 env requests, opens
// 2,000 channels of an unknown type with 10 KB names, 2,000 direct-tcpip channels to a
// 10 KB host, and 2,000 unknown global requests writes a bounded number of lines; the
// counts are on connection.close.
func TestLogBoundsLoggedInFlood(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{Args: []string{"--log-format", "json"}})
	c := dialAgent(t, a)
	offset := len(a.Logs())
	const envs, others = 50_000, 2_000
	if err := sendEnvFlood(c, envs, "C.UTF-8"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("h", 10_000)
	for range others {
		if _, _, err := c.OpenChannel("x-"+long, nil); err == nil {
			t.Fatal("a channel of an unknown type was accepted")
		}
	}
	for range others {
		extra := ssh.Marshal(struct {
			Host       string
			Port       uint32
			OriginHost string
			OriginPort uint32
		}{long, 22, "127.0.0.1", 4000})
		if _, _, err := c.OpenChannel("direct-tcpip", extra); err == nil {
			t.Fatal("a direct-tcpip channel to a 10 KB host name was accepted")
		}
	}
	for range others {
		if ok, _, err := c.SendRequest("x-"+long, true, nil); err != nil || ok {
			t.Fatalf("unknown global request: ok %v, err %v; want a failure reply", ok, err)
		}
	}
	c.Close()
	rec := logRecord(t, a, "connection.close", map[string]any{"user": a.Account.Name})
	// 128 of the env requests (and the last) are accepted: LC_* with short values.
	want := map[string]int64{"env_ignored": envs + 1 - 128, "channels_refused": others, "forwards_failed": others, "requests_refused": others}
	for field, n := range want {
		if got, _ := rec[field].(float64); int64(got) != n {
			t.Errorf("connection.close %s = %v, want %d", field, rec[field], n)
		}
	}
	// A few lines of each kind, the login and the close: far from one per request.
	lines := strings.Count(a.Logs()[offset:], "\n")
	if lines > 40 {
		t.Errorf("the flood wrote %d log lines, want at most 40", lines)
	}
	checkLogBounded(t, a, offset, 40*maxLogLine)
}

// vmRSS is the resident memory of process pid, in KiB, from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("parse VmRSS %q: %v", line, err)
			}
			return kb
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestEnvMemoryBound: the attack of issue 10 item 9, 16 sessions × 128 LC_* values of
// 200 KB each on one connection, took the agent from 7 MiB to 587 MiB of RSS. With the
// bounds (agent/session_bounds.go) the agent keeps none of those values.
func TestEnvMemoryBound(t *testing.T) {
	a := startAgent(t, agentOptions{})
	c := dialAgent(t, a)
	pid := a.cmd.Process.Pid
	before := vmRSS(t, pid)
	value := strings.Repeat("v", 200_000)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sendEnvFlood(c, 128, value)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	after := vmRSS(t, pid)
	t.Logf("agent RSS: %d KiB before, %d KiB after 16 sessions × 128 env values of 200 KB", before, after)
	// The requests themselves pass through the agent's memory (x/crypto reads each
	// 200 KB packet); what must not stay is 16 × 128 × 200 KB = 400 MiB of them.
	if grown := after - before; grown > 64<<10 {
		t.Errorf("the agent's RSS grew by %d KiB, want at most 64 MiB", grown)
	}
}
