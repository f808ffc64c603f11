package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// TestWebUnauthenticatedFlood: 1,000 requests and WebSocket upgrades without the
// token, or with a wrong one, start nothing: no SSH connection, no session; each gets
// 401 (or 429 once the address used up its failures), the log stays within its bound,
// and the agent's memory grows by less than 16 MiB.
func TestWebUnauthenticatedFlood(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	before := vmRSS(t, w.Status.PID)
	logBefore := len(w.Logs())
	var next, bad, limited atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= 1000; i = next.Add(1) {
				var code int
				var err error
				if i%2 == 0 {
					code, err = w.rawUpgrade([]string{"/ssh", "/terminal"}[i%4/2], i%3 == 0)
				} else {
					code, err = w.plainRequest(client, []string{"/", "/id_container", "/id_container.ppk", "/?token=wrong-token-0123456789", "/nothing"}[i%5])
				}
				if code == http.StatusTooManyRequests {
					limited.Add(1)
				}
				if err != nil || (code != http.StatusUnauthorized && code != http.StatusTooManyRequests) {
					if bad.Add(1) <= 5 {
						t.Errorf("request %d: status %d, %v; want 401 or 429", i, code, err)
					}
				}
			}
		})
	}
	wg.Wait()
	after := vmRSS(t, w.Status.PID)
	t.Logf("agent RSS before %d KiB, after 1,000 unauthenticated requests and upgrades %d KiB; %d answered 429", before, after, limited.Load())
	// One address, on new connections: after its first failures it is limited.
	if limited.Load() < 500 {
		t.Errorf("%d of 1,000 failures from one address were answered 429, want most of them", limited.Load())
	}
	if after-before > 16<<10 {
		t.Errorf("agent RSS grew by %d KiB, want less than 16 MiB", after-before)
	}
	logs := w.Logs()[logBefore:]
	for _, event := range []string{"connection opened", "session started", "web key download"} {
		if strings.Contains(logs, event) {
			t.Errorf("an unauthenticated request led to %q:\n%s", event, logs)
		}
	}
	if n := strings.Count(logs, "\n"); n > 200 {
		t.Errorf("the flood wrote %d log lines, want at most 200", n)
	}
	if code, err := w.plainRequest(client, "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz after the flood: %d, %v; want 200", code, err)
	}
}

// plainRequest GETs path without a token and returns the status.
func (w *webAgent) plainRequest(client *http.Client, path string) (int, error) {
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", w.Web.Port, path))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, err
}

// rawUpgrade writes a WebSocket upgrade to path by hand, with a wrong bearer token or
// none, and returns the status the agent answered.
func (w *webAgent) rawUpgrade(path string, wrongToken bool) (int, error) {
	c, err := net.DialTimeout("tcp", hostPort("127.0.0.1", w.Web.Port), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	auth := ""
	if wrongToken {
		auth = "Authorization: Bearer wrong-token-0123456789\r\n"
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + auth + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// idleConnections is how many logged-in, idle connections TestWebIdleMemory holds.
const idleConnections = 200

// TestWebIdleMemory: 200 idle SSH connections carried by WebSockets on /ssh cost the
// agent no more than 200 idle SSH connections on its port (the target), within
// this measure's noise. Each
// set is held on an agent of its own, and the growth of its anonymous memory is
// compared once the agent has handed back the garbage of the logins. Measured at 0.77x
// (median of six runs, the highest 0.87x), BENCHMARKS.md: an idle /ssh connection holds
// no read buffer (web/read_ahead.go) and waits for frames outside the WebSocket library
// on a 4 KiB stack (web/frame_wait.go); without those it was 1.07x [1.01 1.15]. SSH-port
// connections now borrow their read buffer too (agent/socket_read_ahead_linux.go), and
// the two cost the same within the noise of this measure (see below).
func TestWebIdleMemory(t *testing.T) {
	t.Parallel()
	debug := agentOptions{Args: []string{"--log-level", "debug"}} // idleCost waits for a debug line
	direct := startWebAgent(t, debug)
	viaWeb := startWebAgent(t, debug)
	directCost := idleCost(t, direct, func() (net.Conn, error) {
		return net.DialTimeout("tcp", hostPort("127.0.0.1", direct.Port), 5*time.Second)
	})
	token, err := os.ReadFile(viaWeb.Web.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	webCost := idleCost(t, viaWeb, func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, viaWeb.sshURL(), &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}}})
		if err != nil {
			return nil, err
		}
		return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
	})
	t.Logf("agent anonymous memory growth for %d idle connections: direct %d KiB, through /ssh %d KiB", idleConnections, directCost, webCost)
	if webCost*4 > directCost*5 {
		t.Errorf("%d idle /ssh WebSockets cost %d KiB, want at most 1.25x the %d KiB of as many direct connections", idleConnections, webCost, directCost)
	}
}

// Both kinds of connection now borrow their read buffers, and measured as idleCost does
// they cost the same: nine runs gave direct 12.0-14.2 MiB, /ssh 12.6-14.5 MiB, the
// ratio 0.96-1.21 (median 1.01). The test allows 1.25x, which a run's noise stays
// under; what it guarded before, an /ssh connection keeping its 8 KiB stack and 64 KiB
// buffer (18 KiB resident more each, about 1.27x), is pinned more closely by web's own
// tests (TestMessageConnReadAheadOnlyWhileReading, TestSSHIdleReaderPingAndClose).

// idleAgain is the agent's debug line for its first interval without work after work
// (internal/gcpolicy's page-out), written once the heap that work left behind has been
// returned.
const idleAgain = "paged out the program's code"

// idleCost logs in idleConnections times over dial with the agent's id_container,
// leaves them idle, and returns the growth in KiB of the agent's anonymous memory (its
// heap and stacks) from its first idle interval to the first after the last login. Measured right after the logins, as it was, the figure was mostly their
// garbage (the agent collects at GOGC=400), and the resident code pages come and go
// with the agent's page-outs: neither is what an idle connection keeps.
func idleCost(t *testing.T, w *webAgent, dial func() (net.Conn, error)) int {
	t.Helper()
	keyPEM, err := os.ReadFile(w.IDFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: w.Account.Name, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second} // the test's own agent
	testwait.For(t, 30*time.Second, "the agent to be idle after start-up", func() bool {
		return strings.Contains(w.Logs(), idleAgain)
	})
	base := rssAnon(t, w.Status.PID)
	for i := range idleConnections {
		c, err := dial()
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		sc, chans, reqs, err := ssh.NewClientConn(c, "agent", cfg)
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		client := ssh.NewClient(sc, chans, reqs)
		t.Cleanup(func() { client.Close() })
	}
	idles := strings.Count(w.Logs(), idleAgain)
	testwait.For(t, 30*time.Second, "the agent to be idle after the logins, their garbage returned", func() bool {
		return strings.Count(w.Logs(), idleAgain) > idles
	})
	return rssAnon(t, w.Status.PID) - base
}

// rssAnon is the anonymous resident memory of process pid, in KiB, from /proc/PID/status.
func rssAnon(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("parse RssAnon %q: %v", line, err)
			}
			return kb
		}
	}
	t.Fatalf("no RssAnon in /proc/%d/status", pid)
	return 0
}

// TestWebIdleUpgradesClosed: WebSockets on /ssh that never start SSH are SSH
// connections that never log in: the agent's admission limits (--max-unauthenticated)
// and preamble deadline close them, as on the SSH port, so a token holder cannot pin
// the agent's memory with idle upgrades.
func TestWebIdleUpgradesClosed(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	token, err := os.ReadFile(w.Web.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	const n = 150 // more than --max-unauthenticated's 64
	closed := make(chan error, n)
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		c, _, err := websocket.Dial(ctx, w.sshURL(), &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		go func() {
			// The agent sends its version line, then closes; read until it does.
			for {
				if _, _, err := c.Read(ctx); err != nil {
					closed <- ctx.Err()
					return
				}
			}
		}()
	}
	for i := range n {
		if err := <-closed; err != nil {
			t.Fatalf("idle upgrade %d still open after 30 s: the agent did not close it", i)
		}
	}
}

// TestWebSSHHugeFrame: a 16 MiB binary message on /ssh is streamed into the SSH layer,
// not buffered: the agent refuses the garbage and closes that socket, its memory does
// not grow by the message, and other connections keep working.
func TestWebSSHHugeFrame(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	token, err := os.ReadFile(w.Web.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	before := vmRSS(t, w.Status.PID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, w.sshURL(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	// The write fails part way when the agent closes the socket; either is fine.
	_ = c.Write(ctx, websocket.MessageBinary, make([]byte, 16<<20))
	select {
	case <-readErr:
	case <-ctx.Done():
		t.Fatal("the agent did not close a socket that sent 16 MiB of garbage")
	}
	if grew := vmRSS(t, w.Status.PID) - before; grew > 8<<10 {
		t.Errorf("agent RSS grew by %d KiB for one 16 MiB message, want less than 8 MiB (it must not buffer it)", grew)
	}
	if res := w.SSH(t, sshCall{Opts: w.proxyCommand(), Command: "echo still"}); res.ExitCode != 0 || res.Stdout != "still\n" {
		t.Errorf("another connection after the huge frame: %s", res)
	}
}
