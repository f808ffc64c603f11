package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// TestForwardLocal: ssh -L to a TCP echo server, 1 MiB there and back, with EOF
// crossing the background both ways.
func TestForwardLocal(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	echo := startEchoServer(t)
	lport := freePort(t)
	tn := a.sshTunnel(t, "ERROR", "-L", hostPort("127.0.0.1", lport)+":"+hostPort("127.0.0.1", echo))
	tn.waitListening(hostPort("127.0.0.1", lport))
	if err := echoThrough("tcp", hostPort("127.0.0.1", lport), 1<<20, true); err != nil {
		t.Fatal(err)
	}
}

// TestForwardLocalConcurrent: 200 connections at once through one ssh -L background (one SSH
// connection, 200 channels), each echoing its own data.
func TestForwardLocalConcurrent(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	echo := startEchoServer(t)
	lport := freePort(t)
	tn := a.sshTunnel(t, "ERROR", "-L", hostPort("127.0.0.1", lport)+":"+hostPort("127.0.0.1", echo))
	addr := hostPort("127.0.0.1", lport)
	tn.waitListening(addr)
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = echoThrough("tcp", addr, 64<<10+i, true)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
}

// TestForwardRemote: ssh -R on a given port and on port 0 (the port read from ssh's
// "Allocated port N"), both reaching an echo server on the client's side; the listeners
// close when the client leaves.
func TestForwardRemote(t *testing.T) {
	t.Parallel()
	a := startAgent(t, agentOptions{})
	echo := startEchoServer(t)
	fixed := freePort(t)
	tn := a.sshTunnel(t, "INFO",
		"-R", "0:"+hostPort("127.0.0.1", echo),
		"-R", strconv.Itoa(fixed)+":"+hostPort("127.0.0.1", echo))
	allocated := tn.allocatedPort()
	addrs := []string{hostPort("127.0.0.1", allocated), hostPort("127.0.0.1", fixed)}
	// ssh asks for "localhost", which is every loopback address.
	if v6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		v6.Close()
		addrs = append(addrs, hostPort("::1", allocated), hostPort("::1", fixed))
	}
	tn.waitListening(addrs[1])
	for _, addr := range addrs {
		if err := echoThrough("tcp", addr, 1<<20, true); err != nil {
			t.Error(err)
		}
	}
	tn.Stop()
	for _, addr := range addrs {
		if !testwait.Until(10*time.Second, func() bool { return refusedTCP(addr) }) {
			t.Errorf("%s still accepts connections after the client left", addr)
		}
	}
}

// TestForwardDynamic: ssh -D, the client's SOCKS proxy, which curl uses with the host
// name resolved on the server's side.
func TestForwardDynamic(t *testing.T) {
	t.Parallel()
	curl := requireTool(t, "curl", "curl")
	a := startAgent(t, agentOptions{})
	body := make([]byte, 256<<10)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body) // the client may be gone; curl's exit status tells
	}))
	t.Cleanup(web.Close)
	webPort := web.Listener.Addr().(*net.TCPAddr).Port
	dport := freePort(t)
	tn := a.sshTunnel(t, "ERROR", "-D", hostPort("127.0.0.1", dport))
	tn.waitListening(hostPort("127.0.0.1", dport))

	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	// --socks5-hostname: the name "localhost" goes to the server, which resolves it.
	cmd := exec.CommandContext(ctx, curl, "--silent", "--show-error", "--fail", "--max-time", "30",
		"--socks5-hostname", hostPort("127.0.0.1", dport), "http://"+hostPort("localhost", webPort)+"/file")
	cmd.Env = withoutProxies(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl through ssh -D: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(got, body) {
		t.Errorf("curl through ssh -D: got %d bytes, want the %d served", len(got), len(body))
	}
}

// withoutProxies drops the proxy settings curl would otherwise honour.
func withoutProxies(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(name) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// TestForwardPolicyFlags: with forwarding turned off by flags (or their JOBSSHD_*
// variables), every kind of background is refused, the client is told why where the protocol
// lets it, and the agent logs the refusal.
func TestForwardPolicyFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts agentOptions
	}{
		{name: "flags", opts: agentOptions{Args: []string{"--allow-tcp-forwarding=false", "--allow-unix-forwarding=false", "--allow-agent-forwarding=false"}}},
		{name: "environment", opts: agentOptions{Env: []string{"JOBSSHD_ALLOW_TCP_FORWARDING=false", "JOBSSHD_ALLOW_UNIX_FORWARDING=false", "JOBSSHD_ALLOW_AGENT_FORWARDING=false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := startAgent(t, tt.opts)
			echo := startEchoServer(t)
			dir := accountTempDir(t, a.Account)

			t.Run("local", func(t *testing.T) {
				lport := freePort(t)
				tn := a.sshTunnel(t, "INFO", "-L", hostPort("127.0.0.1", lport)+":"+hostPort("127.0.0.1", echo))
				tn.waitListening(hostPort("127.0.0.1", lport))
				if !closedAt("tcp", hostPort("127.0.0.1", lport)) {
					t.Error("ssh -L: the background carried data, want it refused")
				}
				if !testwait.Until(5*time.Second, func() bool { return strings.Contains(tn.Output(), "administratively prohibited") }) {
					t.Errorf("ssh -L: client output %q, want \"administratively prohibited\"", tn.Output())
				}
			})
			for _, remote := range []struct{ name, forward string }{
				{name: "remote tcp", forward: "0:" + hostPort("127.0.0.1", echo)},
				{name: "remote unix", forward: dir + "/r.sock:" + hostPort("127.0.0.1", echo)},
			} {
				t.Run(remote.name, func(t *testing.T) {
					tn := a.sshTunnel(t, "ERROR", "-R", remote.forward)
					code, err := tn.Wait(tunnelTimeout)
					if err != nil || code != 255 || !strings.Contains(tn.Output(), "forwarding failed") {
						t.Errorf("ssh -R %s with ExitOnForwardFailure: got exit %d, %v, output %q; want 255 and \"forwarding failed\"", remote.forward, code, err, tn.Output())
					}
				})
			}
			t.Run("agent", func(t *testing.T) {
				res := a.sshWithAgent(t, startSSHAgent(t), `echo "${SSH_AUTH_SOCK:-none}"`)
				if res.Stdout != "none\n" {
					t.Errorf("ssh -A: got %s, want SSH_AUTH_SOCK unset", res)
				}
			})
			for _, want := range []string{"--allow-tcp-forwarding=false", "--allow-unix-forwarding=false", "--allow-agent-forwarding=false"} {
				if !strings.Contains(a.Logs(), want) {
					t.Errorf("agent logs name no refusal by %s", want)
				}
			}
		})
	}
}
