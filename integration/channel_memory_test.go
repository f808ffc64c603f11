package integration

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/testwait"
)

// TestChannelsCannotPinUnboundedMemory: x/crypto/ssh keeps up to 2 MiB per channel of
// what the client sends until the agent reads it, and a session that starts no program,
// or a forward to a socket that does not read, reads nothing (issue 10, item 9). Three
// connections open 40 channels each (sessions on two, direct-tcpip to a listener that
// never reads on the third) and fill each window; --max-channels 32 must refuse the
// rest with a reason, keep the agent's RSS within 32 filled channels, leave room for a
// real login, and give the channels back when the clients leave.
func TestChannelsCannotPinUnboundedMemory(t *testing.T) {
	t.Parallel()
	const (
		maxChannels  = 32
		perConn      = 40
		window       = 2 << 20 // x/crypto's channelWindowSize
		perChannelKB = 4 << 10 // measured: 2.3 MiB per filled session, 3.8 per forward
		slackKB      = 24 << 10
	)
	a := startAgent(t, agentOptions{Args: []string{"--max-channels", strconv.Itoa(maxChannels)}})
	pid := a.cmd.Process.Pid
	target := holdingListener(t)
	baseKB := vmRSS(t, pid)

	fill := make([]byte, window)
	opened, refusal := 0, ""
	for i := range 3 {
		client := dialAgent(t, a)
		defer client.Close()
		for range perConn {
			var ch ssh.Channel
			var err error
			if i < 2 {
				ch, _, err = client.OpenChannel("session", nil) // never starts a program
			} else {
				var c net.Conn
				c, err = client.Dial("tcp", target)
				if err == nil {
					if _, err := c.Write(fill); err != nil {
						t.Fatalf("fill forwarded connection %d: %v", opened, err)
					}
					opened++
					continue
				}
			}
			var oce *ssh.OpenChannelError
			if errors.As(err, &oce) {
				refusal = oce.Message
				continue
			}
			if err != nil {
				refusal = err.Error()
				continue
			}
			if _, err := ch.Write(fill); err != nil {
				t.Fatalf("fill session channel %d: %v", opened, err)
			}
			opened++
		}
		// The reply comes after the agent has handled every packet sent before it.
		if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			t.Fatalf("keepalive after filling the channels of connection %d: %v", i, err)
		}
	}
	rssKB := vmRSS(t, pid)
	t.Logf("%d of %d channels opened and filled with %d bytes each; RSS %d → %d KiB; refusal: %q",
		opened, 3*perConn, window, baseKB, rssKB, refusal)
	if bound := baseKB + maxChannels*perChannelKB + slackKB; rssKB > bound {
		t.Errorf("agent RSS %d KiB with %d channels filled, want at most %d KiB (%d channels of %d KiB)",
			rssKB, opened, bound, maxChannels, perChannelKB)
	}
	if opened > maxChannels {
		t.Errorf("%d channels opened under --max-channels %d", opened, maxChannels)
	}
	if !strings.Contains(refusal, "too many channels open") {
		t.Errorf("refusal %q does not say why", refusal)
	}
	if res := a.SSH(t, sshCall{Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("with %d channels held, a new login: got %s, want exit 0 and \"in\\n\"", opened, res)
	}
}

// TestChannelBudgetComesBack: channels refused for the agent-wide bound are served again
// once the connections holding them are gone.
func TestChannelBudgetComesBack(t *testing.T) {
	t.Parallel()
	const maxChannels = 8
	a := startAgent(t, agentOptions{Args: []string{"--max-channels", strconv.Itoa(maxChannels)}})
	holder := dialAgent(t, a)
	for i := range maxChannels - 1 { // the last one is kept for connections holding none
		if _, _, err := holder.OpenChannel("session", nil); err != nil {
			t.Fatalf("open session %d of %d: %v", i+1, maxChannels-1, err)
		}
	}
	if _, _, err := holder.OpenChannel("session", nil); err == nil {
		t.Fatalf("session %d opened on one connection under --max-channels %d with one kept for new logins", maxChannels, maxChannels)
	}
	holder.Close()
	client := dialAgent(t, a)
	defer client.Close()
	var err error
	for i := range maxChannels - 1 {
		// The agent gives a channel back when its handler has ended, after the client
		// is gone; wait for that.
		if !testwait.Until(10*time.Second, func() bool { _, _, err = client.OpenChannel("session", nil); return err == nil }) {
			t.Fatalf("session %d after the holder left: %v", i+1, err)
		}
	}
}

// dialAgent logs in to a with x/crypto and the generated id_container key; the client
// is closed when the test ends.
func dialAgent(t *testing.T, a *agent) *ssh.Client {
	t.Helper()
	client, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)), &ssh.ClientConfig{
		User: a.Account.Name, Auth: []ssh.AuthMethod{ssh.PublicKeys(loadSigner(t, a.IDFile))},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("log in with %s over x/crypto: %v", a.IDFile, err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// holdingListener is a TCP listener that accepts connections and never reads them, like
// a stuck server behind ssh -L; it returns its address.
func holdingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestSmallPacketsCannotPinUnboundedMemory: x/crypto keeps each data packet as an
// allocation of its own, so a 2 MiB window filled with 1-byte packets costs the agent
// about 100 MiB, not 2 MiB. One client fills up to 4 session windows that way; the
// agent (--max-channels 32: a heap bound of 144 MiB, channel_memory.go) must drop that
// connection before its RSS passes the bound, and keep another client's connection,
// which holds 8 windows filled with full packets, and new logins.
func TestSmallPacketsCannotPinUnboundedMemory(t *testing.T) {
	t.Parallel()
	const (
		boundKB = (32*5/2 + 64) << 10 // channel_memory.go's memoryGuardBound(32)
		slackKB = 48 << 10            // the runtime, stacks, and collector lag
		window  = 2 << 20
	)
	a := startAgent(t, agentOptions{Args: []string{"--max-channels", "32"}})
	pid := a.cmd.Process.Pid

	bystander := dialAgent(t, a)
	defer bystander.Close()
	full := make([]byte, window)
	for i := range 8 {
		ch, _, err := bystander.OpenChannel("session", nil)
		if err != nil {
			t.Fatalf("bystander session %d: %v", i, err)
		}
		if _, err := ch.Write(full); err != nil {
			t.Fatalf("fill bystander session %d: %v", i, err)
		}
	}

	attacker := dialAgent(t, a)
	defer attacker.Close()
	peakKB, sent := 0, 0
	var werr error
	one := []byte{'x'}
fill:
	for range 4 {
		ch, _, err := attacker.OpenChannel("session", nil)
		if err != nil {
			werr = err
			break
		}
		for range window {
			if _, werr = ch.Write(one); werr != nil {
				break fill
			}
			sent++
			if sent%(256<<10) == 0 {
				peakKB = max(peakKB, vmRSS(t, pid))
			}
		}
	}
	if werr == nil {
		_, _, werr = attacker.SendRequest("keepalive@openssh.com", true, nil)
	}
	peakKB = max(peakKB, vmRSS(t, pid))
	t.Logf("attacker sent %d one-byte packets; agent peak RSS %d KiB; attacker's end: %v", sent, peakKB, werr)
	if werr == nil {
		t.Errorf("the attacker's connection survived %d one-byte packets into unread windows, want it dropped", sent)
	}
	if peakKB > boundKB+slackKB {
		t.Errorf("agent peak RSS %d KiB, want at most %d KiB (heap bound %d KiB + %d KiB)", peakKB, boundKB+slackKB, boundKB, slackKB)
	}
	if _, _, err := bystander.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Errorf("the bystander's connection (8 windows filled with full packets) was dropped too: %v", err)
	}
	if !strings.Contains(a.Logs(), `"connection.drop"`) && !strings.Contains(a.Logs(), "event=connection.drop") {
		t.Errorf("no connection.drop line in the log")
	}
	if res := a.SSH(t, sshCall{Command: "echo in"}); res.ExitCode != 0 || res.Stdout != "in\n" {
		t.Errorf("after the attack, a new login: got %s, want exit 0 and \"in\\n\"", res)
	}
}

// TestDroppedConnectionGivesItsMemoryBack: a program that ignores the hangup keeps its
// session, and so its channel, alive after its connection is dropped; what the client
// pinned in that channel must be freed anyway, or every dropped client would leave its
// share behind and the next one could pin as much again. Client A fills the stdin of
// two such programs with 1-byte packets until dropped; then client B does the same
// with sessions that start no program. The agent's RSS must stay within one bound.
func TestDroppedConnectionGivesItsMemoryBack(t *testing.T) {
	t.Parallel()
	const (
		boundKB = (8*5/2 + 64) << 10 // channel_memory.go's memoryGuardBound(8)
		slackKB = 48 << 10
		window  = 2 << 20
	)
	a := startAgent(t, agentOptions{Args: []string{"--max-channels", "8"}})
	pid := a.cmd.Process.Pid
	peakKB := 0
	// fillTiny writes window 1-byte packets to w, or stops at the first error.
	fillTiny := func(w interface{ Write([]byte) (int, error) }) (int, error) {
		one := []byte{'x'}
		for i := range window {
			if _, err := w.Write(one); err != nil {
				return i, err
			}
			if i%(256<<10) == 0 {
				peakKB = max(peakKB, vmRSS(t, pid))
			}
		}
		return window, nil
	}

	clientA := dialAgent(t, a)
	defer clientA.Close()
	var errA error
	for i := 0; i < 3 && errA == nil; i++ {
		sess, err := clientA.NewSession()
		if err != nil {
			errA = err
			break
		}
		stdin, err := sess.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := sess.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		// Ignored signals stay ignored across exec; sleep never reads its stdin. It
		// must outlive the test's attacks, whatever their speed, so the test ends it.
		if err := sess.Start("echo $$; trap '' HUP; exec sleep 600"); err != nil {
			errA = err
			break
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		pid, perr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || perr != nil {
			t.Fatalf("read the lingering program's pid: %q, %v, %v", line, err, perr)
		}
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		_, errA = fillTiny(stdin)
	}
	if errA == nil {
		t.Fatalf("client A was not dropped after filling 3 windows with 1-byte packets")
	}

	clientB := dialAgent(t, a)
	defer clientB.Close()
	var errB error
	for i := 0; i < 4 && errB == nil; i++ {
		ch, _, err := clientB.OpenChannel("session", nil)
		if err != nil {
			errB = err
			break
		}
		_, errB = fillTiny(ch)
	}
	peakKB = max(peakKB, vmRSS(t, pid))
	t.Logf("A: %v; B: %v; agent peak RSS %d KiB", errA, errB, peakKB)
	if errB == nil {
		t.Errorf("client B was not dropped after filling 4 windows with 1-byte packets")
	}
	if peakKB > boundKB+slackKB {
		t.Errorf("agent peak RSS %d KiB, want at most %d KiB: client A's dropped connection kept what it pinned", peakKB, boundKB+slackKB)
	}
}
