package agent

import (
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestChannelCloseWakesClient: once the client closed a session channel, the agent
// sends it one request (keepalive@openssh.com, want-reply), the packet Dropbear's client
// needs to notice that its last channel is gone (close_wake.go); the client's failure
// reply is taken, and the connection stays up. The client-alive probes are set far off
// so that only the close can explain the request.
func TestChannelCloseWakesClient(t *testing.T) {
	t.Parallel()
	acct := &Account{Name: "tester", UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: t.TempDir(), Shell: "/bin/sh"}
	srv, signer := startTestServerFor(t, acct, func(c *Config) { c.ClientAliveInterval = time.Hour })
	nc, err := net.Dial("tcp", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, "", &ssh.ClientConfig{User: "tester",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	client := ssh.NewClient(conn, chans, nil) // global requests are read below
	t.Cleanup(func() { client.Close() })
	got := make(chan string, 4)
	go func() {
		for r := range reqs {
			got <- r.Type
			if r.WantReply {
				_ = r.Reply(false, nil)
			}
		}
	}()

	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sess.Output("echo hi"); err != nil || string(out) != "hi\n" {
		t.Fatalf("echo hi: %q, %v", out, err)
	}
	// x/crypto's client answered the agent's CLOSE with its own as it arrived.
	sess.Close()
	select {
	case typ := <-got:
		if typ != "keepalive@openssh.com" {
			t.Errorf("after the channel close: global request %q, want keepalive@openssh.com", typ)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no request from the agent within 10s of the client closing its session channel")
	}
	if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Errorf("the connection ended after the wake-up: %v", err)
	}
}
