package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// webStatus is the "web" object of status.json.
type webStatus struct {
	Addr      string `json:"addr"`
	Port      int    `json:"port"`
	URL       string `json:"url"`
	TokenFile string `json:"token_file"`
}

// webAgent is an agent serving --web on loopback, with what its status.json says of it.
type webAgent struct {
	*agent
	Web webStatus
}

// startWebAgent starts an agent with --web 127.0.0.1:0 and opts' other flags.
func startWebAgent(t *testing.T, opts agentOptions) *webAgent {
	t.Helper()
	opts.Args = append([]string{"--web", "127.0.0.1:0"}, opts.Args...)
	a := startAgent(t, opts)
	b, err := os.ReadFile(filepath.Join(a.StateDir, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Web *webStatus `json:"web"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Web == nil || st.Web.Port == 0 {
		t.Fatalf("status.json has no web port (%v):\n%s", err, b)
	}
	return &webAgent{agent: a, Web: *st.Web}
}

// sshURL is the agent's /ssh WebSocket.
func (w *webAgent) sshURL() string { return fmt.Sprintf("ws://127.0.0.1:%d/ssh", w.Web.Port) }

// proxyCommand is an OpenSSH ProxyCommand option through `jobsshd proxy`, with extra
// proxy flags.
func (w *webAgent) proxyCommand(flags ...string) []string {
	cmd := append([]string{binPath, "proxy", "--token-file", w.Web.TokenFile}, flags...)
	for i, f := range cmd {
		cmd[i] = "'" + f + "'"
	}
	return []string{"-o", "ProxyCommand=" + strings.Join(cmd, " ") + " " + w.sshURL()}
}

// TestWebProxyExecAndPty: OpenSSH through `jobsshd proxy` as ProxyCommand runs a
// command and a pty session as the account, and SSH_CONNECTION names the HTTP peer.
func TestWebProxyExecAndPty(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	res := w.SSH(t, sshCall{Opts: w.proxyCommand(), Command: "id -un; echo $SSH_CONNECTION"})
	if res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, w.Account.Name+"\n127.0.0.1 ") {
		t.Errorf("exec through the proxy: %s, want the account name and SSH_CONNECTION from 127.0.0.1", res)
	}
	if !strings.Contains(res.Stdout, " "+strconv.Itoa(w.Web.Port)+"\n") {
		t.Errorf("SSH_CONNECTION %q: want the web port %d as the server port", res.Stdout, w.Web.Port)
	}
	res = w.SSH(t, sshCall{Opts: append(w.proxyCommand(), "-tt"), Command: "tty; echo $TERM"})
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "/dev/pts/") {
		t.Errorf("pty through the proxy: %s, want a /dev/pts/ tty", res)
	}
}

// TestWebProxyWrongKey: the WebSocket carries SSH; it does not replace its
// authentication. A key the account does not accept is refused through it.
func TestWebProxyWrongKey(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	res := w.SSH(t, sshCall{Key: newClientKey(t, "stranger"), Opts: w.proxyCommand(), Command: "echo in"})
	if res.ExitCode == 0 || strings.Contains(res.Stdout, "in") || !strings.Contains(res.Stderr, "Permission denied") {
		t.Errorf("wrong key through the proxy: %s, want Permission denied", res)
	}
}

// TestWebProxyTransfers: a 64 MiB sftp round trip, scp -O both ways and ssh -L, all
// through the proxy.
func TestWebProxyTransfers(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	rel, abs := userDir(t, w.Account)
	local := t.TempDir()
	orig := filepath.Join(local, "big.bin")
	writeRandomFile(t, orig, 64<<20, 3, 0o644)
	res := w.sftpBatch(t, "put "+orig+" "+rel+"/big.bin\nget "+rel+"/big.bin "+filepath.Join(local, "big.back")+"\n", w.proxyCommand()...)
	if res.ExitCode != 0 {
		t.Fatalf("sftp through the proxy: %s", res)
	}
	requireSameContent(t, orig, filepath.Join(abs, "big.bin"))
	requireSameContent(t, orig, filepath.Join(local, "big.back"))

	small := filepath.Join(local, "small.bin")
	writeRandomFile(t, small, 3<<20+5, 4, 0o644)
	scp := append([]string{"-O"}, w.proxyCommand()...)
	if res := w.scp(t, append(scp, small, w.remote(rel+"/small.bin"))...); res.ExitCode != 0 {
		t.Fatalf("scp -O upload through the proxy: %s", res)
	}
	if res := w.scp(t, append(scp, w.remote(rel+"/small.bin"), filepath.Join(local, "small.back"))...); res.ExitCode != 0 {
		t.Fatalf("scp -O download through the proxy: %s", res)
	}
	requireSameContent(t, small, filepath.Join(abs, "small.bin"))
	requireSameContent(t, small, filepath.Join(local, "small.back"))

	echo := startEchoServer(t)
	listen := freePort(t)
	tunnel := w.sshTunnel(t, "ERROR", append(w.proxyCommand(), "-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", listen, echo))...)
	addr := hostPort("127.0.0.1", listen)
	tunnel.waitListening(addr)
	if err := echoThrough("tcp", addr, 1<<20, true); err != nil {
		t.Errorf("ssh -L through the proxy: %v", err)
	}
}

// TestWebClientAddress: from= and --allow-cidr see the HTTP peer's address, or the
// client X-Forwarded-For names only when the peer is in --web-trusted-proxy: its last
// entry that is not a trusted proxy, never an entry the client wrote in front of what
// the proxy appended.
func TestWebClientAddress(t *testing.T) {
	t.Parallel()
	key := newClientKey(t, "from-key")
	inline := `from="203.0.113.7" ` + readPublicKey(t, key+".pub")
	xff := []string{"--header", "X-Forwarded-For: 203.0.113.7, 127.0.0.1"}
	// What an appending proxy at 127.0.0.1 passes on when a client at 198.51.100.9
	// sent "X-Forwarded-For: 203.0.113.7" itself.
	spoofed := []string{"--header", "X-Forwarded-For: 203.0.113.7, 198.51.100.9"}
	for _, tc := range []struct {
		name      string
		args      []string
		proxyArgs []string
		wantOK    bool
	}{
		{"peer address, from= elsewhere", nil, nil, false},
		{"forwarded-for from an untrusted peer", nil, xff, false},
		{"forwarded-for from a trusted proxy", []string{"--web-trusted-proxy", "127.0.0.0/8"}, xff, true},
		{"allow-cidr: peer outside", []string{"--allow-cidr", "203.0.113.0/24"}, xff, false},
		{"allow-cidr: trusted forwarded-for inside", []string{"--allow-cidr", "203.0.113.0/24", "--web-trusted-proxy", "127.0.0.1"}, xff, true},
		{"forwarded-for: the client's own first entry", []string{"--web-trusted-proxy", "127.0.0.1"}, spoofed, false},
		{"allow-cidr: the client's own first entry", []string{"--allow-cidr", "203.0.113.0/24", "--web-trusted-proxy", "127.0.0.1"}, spoofed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := startWebAgent(t, agentOptions{Args: tc.args, Env: []string{"JOBSSHD_AUTHORIZED_KEYS=" + inline}})
			res := w.SSH(t, sshCall{Key: key, Opts: w.proxyCommand(tc.proxyArgs...), Command: "echo $SSH_CONNECTION"})
			if tc.wantOK != (res.ExitCode == 0) {
				t.Fatalf("got %s, want success %v\nagent log:\n%s", res, tc.wantOK, w.Logs())
			}
			if tc.wantOK && !strings.HasPrefix(res.Stdout, "203.0.113.7 ") {
				t.Errorf("SSH_CONNECTION %q: want it from 203.0.113.7", res.Stdout)
			}
		})
	}
}

var relayingLine = regexp.MustCompile(`relaying 127\.0\.0\.1:(\d+) to`)

// startRelay starts `jobsshd proxy --listen 127.0.0.1:0` and returns the port it
// listens on.
func (w *webAgent) startRelay(t *testing.T) int {
	t.Helper()
	bg := startBackground(t, nil, binPath, "proxy", "--listen", "127.0.0.1:0", "--token-file", w.Web.TokenFile, w.sshURL())
	var port int
	if !testwait.Until(tunnelTimeout, func() bool {
		if m := relayingLine.FindStringSubmatch(bg.Output()); m != nil {
			port, _ = strconv.Atoi(m[1])
			return true
		}
		return false
	}) {
		t.Fatalf("jobsshd proxy --listen did not report its port:\n%s", bg.Output())
	}
	return port
}

// TestWebRelayClients: PuTTY's plink and psftp and paramiko, which cannot run a
// ProxyCommand, log in through the local relay.
func TestWebRelayClients(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	relayed := *w.agent // the same agent, seen on the relay's port
	relayed.Port = w.startRelay(t)
	var fps []string
	for _, k := range w.Status.HostKeys {
		fps = append(fps, k.Fingerprint)
	}
	if res := plink(t, &relayed, w.IDFile+".ppk", fps, "id -un"); res.ExitCode != 0 || res.Stdout != w.Account.Name+"\n" {
		t.Errorf("plink through the relay: %s", res)
	}
	rel, abs := userDir(t, w.Account)
	local := t.TempDir()
	orig := filepath.Join(local, "p.bin")
	writeRandomFile(t, orig, 2<<20+3, 5, 0o644)
	if res := relayed.psftp(t, "put "+orig+" "+rel+"/p.bin\nget "+rel+"/p.bin "+filepath.Join(local, "p.back")+"\n"); res.ExitCode != 0 {
		t.Fatalf("psftp through the relay: %s", res)
	}
	requireSameContent(t, orig, filepath.Join(abs, "p.bin"))
	requireSameContent(t, orig, filepath.Join(local, "p.back"))
	if res := runParamiko(t, &relayed, "exec", "echo out; exit 3"); string(res.Stdout) != "out\n" || res.ExitStatus != 3 {
		t.Errorf("paramiko through the relay: stdout %q exit %d, want \"out\\n\" and 3", res.Stdout, res.ExitStatus)
	}
}

// TestWebProxyErrors: the proxy's failures are one line naming the fix.
func TestWebProxyErrors(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	empty := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(empty, []byte("wrong-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("ws://127.0.0.1:%d", w.Web.Port)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{base + "/ssh"}, "401 unauthorized"},
		{"wrong token", []string{"--token-file", empty, base + "/ssh"}, "--token-file"},
		{"wrong path", []string{"--token-file", w.Web.TokenFile, base + "/sshx"}, "404 not found"},
		{"TLS to plain HTTP", []string{"--token-file", w.Web.TokenFile, fmt.Sprintf("wss://127.0.0.1:%d/ssh", w.Web.Port)}, "use ws://"},
		// wss://: a ws:// URL to another computer adds a line warning that the token
		// travels in clear (TestWebProxyPlaintextWarning).
		{"unknown host", []string{"--token-file", w.Web.TokenFile, "wss://no-such-host.invalid/ssh"}, "cannot resolve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, nil, append([]string{"proxy"}, tc.args...)...)
			if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("jobsshd proxy %v: exit %d, stderr %q; want exit 1 and one line containing %q", tc.args, code, stderr, tc.want)
			}
		})
	}
}

// webDial opens a raw TCP connection to the web port, for tests that write requests by
// hand.
func (w *webAgent) webDial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", hostPort("127.0.0.1", w.Web.Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWebCountsAsConnection: a connection through /ssh counts against
// --max-connections like one on the SSH port.
func TestWebCountsAsConnection(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{Args: []string{"--max-connections", "1"}})
	held := w.sshTunnel(t, "ERROR", w.proxyCommand()...)
	if !testwait.Until(tunnelTimeout, func() bool { return strings.Contains(w.Logs(), "event=auth.accept") }) {
		t.Fatalf("the first connection through /ssh did not log in:\n%s", held.Output())
	}
	res := w.SSH(t, sshCall{Command: "echo in"})
	if res.ExitCode == 0 {
		t.Errorf("a second connection on the SSH port while one through /ssh is open with --max-connections 1: %s, want it refused", res)
	}
	res = w.SSH(t, sshCall{Opts: w.proxyCommand(), Command: "echo in"})
	if res.ExitCode == 0 {
		t.Errorf("a second connection through /ssh with --max-connections 1: %s, want it refused", res)
	}
	if !strings.Contains(w.Logs(), "too many connections") {
		t.Errorf("no refusal for too many connections in the log:\n%s", w.Logs())
	}
}

// TestWebProxyPlaintextWarning: before sending the token over ws:// to another
// computer, the proxy warns on a line of its own, without the token; the error line
// still follows.
func TestWebProxyPlaintextWarning(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	const token = "plaintext-token-0123456789"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runBinary(t, nil, "proxy", "--token-file", tokenFile, "ws://no-such-host.invalid/ssh")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], "unencrypted") || !strings.Contains(lines[1], "cannot resolve") {
		t.Errorf("jobsshd proxy ws://no-such-host.invalid: exit %d, stderr %q; want exit 1, the warning, then the error", code, stderr)
	}
	if strings.Contains(stderr, token) {
		t.Errorf("the proxy printed the token: %q", stderr)
	}
}

// TestWebSSHOpenAtShutdown: an SSH connection open through /ssh at SIGTERM does not
// hold the agent past its grace. The web server's Shutdown waits for /ssh connections,
// which only the SSH server's Shutdown ends, so the two must run at once: one after the
// other they would take a grace each (or forever, web first, without a deadline).
func TestWebSSHOpenAtShutdown(t *testing.T) {
	t.Parallel()
	w := startWebAgent(t, agentOptions{})
	held := w.sshTunnel(t, "ERROR", w.proxyCommand()...)
	if !testwait.Until(tunnelTimeout, func() bool { return strings.Contains(w.Logs(), "event=auth.accept") }) {
		t.Fatalf("the connection through /ssh did not log in:\n%s", held.Output())
	}
	start := time.Now()
	w.Stop() // fails the test unless the agent exits 0 within stopTimeout
	if took, limit := time.Since(start), 5*time.Second+2*time.Second; took > limit {
		t.Errorf("the agent took %v to exit after SIGTERM with a connection open through /ssh, want under %v (the 5 s grace and a margin)", took, limit)
	}
}
