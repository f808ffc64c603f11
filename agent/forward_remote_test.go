package agent

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

func TestRemoteForwardPortZero(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	ln, err := client.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if port == 0 {
		t.Fatal("got port 0 back, want the port bound")
	}
	origins := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			origins <- nil
			return
		}
		defer c.Close()
		origins <- c.RemoteAddr()
		_, _ = io.Copy(c, c)
	}()
	c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkEcho(t, c.(*net.TCPConn), 256<<10)
	if got, want := (<-origins).String(), c.LocalAddr().String(); got != want {
		t.Errorf("forwarded-tcpip originator: got %s, want %s", got, want)
	}
}

// TestRemoteForwardLocalhostBothFamilies pins OpenSSH's meaning of "localhost" (what
// ssh -R asks for by default): every loopback address, and with port 0 the same port in
// each family.
func TestRemoteForwardLocalhostBothFamilies(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	incoming := client.HandleChannelOpen("forwarded-tcpip")
	ok, reply, err := client.SendRequest("tcpip-forward", true, ssh.Marshal(tcpForwardMsg{BindHost: "localhost"}))
	if err != nil || !ok {
		t.Fatalf("tcpip-forward localhost:0: got %v, %v; want success", ok, err)
	}
	var bound struct{ Port uint32 }
	if err := ssh.Unmarshal(reply, &bound); err != nil || bound.Port == 0 {
		t.Fatalf("tcpip-forward reply %x: got port %d (%v), want the port bound", reply, bound.Port, err)
	}
	addrs := []string{"127.0.0.1"}
	if v6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		v6.Close()
		addrs = append(addrs, "::1")
	} else {
		t.Logf("no IPv6 loopback here (%v); checking IPv4 only", err)
	}
	for _, host := range addrs {
		c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(bound.Port))))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		nc := <-incoming
		var msg forwardedTCPIPMsg
		if err := ssh.Unmarshal(nc.ExtraData(), &msg); err != nil {
			t.Fatal(err)
		}
		if msg.BindHost != "localhost" || msg.BindPort != bound.Port {
			t.Errorf("%s: forwarded-tcpip for %s:%d, want localhost:%d (as requested, with the bound port)", host, msg.BindHost, msg.BindPort, bound.Port)
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go ssh.DiscardRequests(reqs)
		ch.Write([]byte(host))
		ch.Close()
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != host {
			t.Errorf("got %q through the %s listener, want %q", got, host, host)
		}
	}
}

// TestRemoteForwardBelongsToItsConnection: another connection can neither cancel a
// forward nor see it; its own connection cancels it, and its end closes the rest.
func TestRemoteForwardBelongsToItsConnection(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	owner := dialClient(t, srv, signer)
	other := dialClient(t, srv, signer)

	first, err := owner.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, first)
	second, err := owner.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, second)
	firstAddr, secondAddr := first.Addr().String(), second.Addr().String()

	cancel := func(c *ssh.Client, addr string) bool {
		t.Helper()
		tcp := addr2tcp(t, addr)
		ok, _, err := c.SendRequest("cancel-tcpip-forward", true, ssh.Marshal(tcpForwardMsg{BindHost: tcp.IP.String(), BindPort: uint32(tcp.Port)}))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if cancel(other, firstAddr) {
		t.Fatal("another connection cancelled the forward, want refused")
	}
	if cancel(owner, "127.0.0.1:1") {
		t.Error("cancel of a forward that does not exist succeeded, want refused")
	}
	c, err := net.Dial("tcp4", firstAddr)
	if err != nil {
		t.Fatalf("forward gone after another connection's cancel: %v", err)
	}
	checkEcho(t, c.(*net.TCPConn), 1000)
	c.Close()

	if err := first.Close(); err != nil { // cancel-tcpip-forward from its own connection
		t.Fatalf("owner's cancel: %v", err)
	}
	if !testwait.Until(testwait.Default, func() bool { return refused(firstAddr) }) {
		t.Errorf("%s still accepts after cancel", firstAddr)
	}
	if refused(secondAddr) {
		t.Fatalf("%s closed by the cancel of another forward", secondAddr)
	}
	owner.Close()
	if !testwait.Until(testwait.Default, func() bool { return refused(secondAddr) }) {
		t.Errorf("%s still accepts after its connection ended", secondAddr)
	}
}

func addr2tcp(t *testing.T, addr string) *net.TCPAddr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRemoteForwardPortInUse(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	taken, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if ln, err := client.Listen("tcp", taken.Addr().String()); err == nil {
		ln.Close()
		t.Fatalf("forward on %s, which is taken: succeeded, want refused", taken.Addr())
	}
}

// TestConnectionEndReleasesEverything: when the client leaves, the connection's
// goroutines end even while its forwarded connections are idle, and its listeners
// close. Shutdown would wait (and the test fail at cleanup) otherwise.
func TestConnectionEndReleasesEverything(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	idle, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	targetClosed := make(chan struct{})
	go func() {
		defer close(targetClosed)
		c, err := idle.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, _ = io.ReadAll(c)
	}()
	if _, err := client.Dial("tcp", idle.Addr().String()); err != nil {
		t.Fatal(err)
	}
	ln, err := client.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listening := ln.Addr().String()
	client.Close()
	if !testwait.Until(testwait.Default, func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.conns) == 0
	}) {
		t.Fatal("connection still being served after the client left")
	}
	select {
	case <-targetClosed:
	case <-time.After(10 * time.Second):
		t.Error("the forwarded connection to an idle target is still open")
	}
	if !refused(listening) {
		t.Errorf("%s still accepts after the connection ended", listening)
	}
}

// TestRemoteForwardPrivilegedPortAndGatewayPorts: an unprivileged account cannot listen
// below 1024, and a forward asked for all interfaces listens on them only with
// GatewayPorts.
func TestRemoteForwardPrivilegedPortAndGatewayPorts(t *testing.T) {
	t.Parallel()
	external := nonLoopbackIPv4(t)
	tests := []struct {
		name         string
		gatewayPorts bool
	}{
		{name: "loopback only", gatewayPorts: false},
		{name: "gateway ports", gatewayPorts: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, signer, _ := startNobodyServer(t, func(c *Config) { c.GatewayPorts = tt.gatewayPorts })
			client := dialClient(t, srv, signer)
			if ln, err := client.Listen("tcp", "127.0.0.1:80"); err == nil {
				ln.Close()
				t.Error("unprivileged account listened on port 80, want refused")
			}
			ok, reply, err := client.SendRequest("tcpip-forward", true, ssh.Marshal(tcpForwardMsg{BindHost: "", BindPort: 0}))
			if err != nil || !ok {
				t.Fatalf("tcpip-forward on all interfaces: got %v, %v; want success", ok, err)
			}
			var bound struct{ Port uint32 }
			if err := ssh.Unmarshal(reply, &bound); err != nil {
				t.Fatal(err)
			}
			port := strconv.FormatUint(uint64(bound.Port), 10)
			if refused(net.JoinHostPort("127.0.0.1", port)) {
				t.Error("not listening on loopback")
			}
			if external == "" {
				t.Log("no non-loopback IPv4 address here: the all-interfaces half is checked by TestBindAddresses only")
				return
			}
			if got := !refused(net.JoinHostPort(external, port)); got != tt.gatewayPorts {
				t.Errorf("listening on %s: got %v, want %v", external, got, tt.gatewayPorts)
			}
		})
	}
}

// nonLoopbackIPv4 is an IPv4 address of this machine other than loopback, or "".
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	return ""
}
