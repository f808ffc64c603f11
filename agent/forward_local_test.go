package agent

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestDirectTCPIPEcho(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	echo := startEchoServer(t)
	for _, size := range []int{0, 1, 1 << 20} {
		c, err := client.Dial("tcp", echo)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, c.(halfCloser), size)
		c.Close()
	}
}

// halfCloseTests are TestDirectTCPIPHalfClose's cases: what the target behind the tunnel
// and the client each do, and what each must read.
var halfCloseTests = []struct {
	name string
	// target runs on the agent's side of the tunnel and returns what it read.
	target func(c *net.TCPConn) string
	// peer runs on the client's side and returns what it read.
	peer     func(c halfCloser) string
	wantRead string // by the target
	wantPeer string
}{
	{
		name: "target closes first",
		target: func(c *net.TCPConn) string {
			c.Write([]byte("greeting"))
			c.CloseWrite()
			b, _ := io.ReadAll(c)
			return string(b)
		},
		peer: func(c halfCloser) string {
			b, _ := io.ReadAll(c) // ends at the target's EOF, with the tunnel still open
			c.Write([]byte("reply after your EOF"))
			c.CloseWrite()
			return string(b)
		},
		wantRead: "reply after your EOF", wantPeer: "greeting",
	},
	{
		name: "client closes first",
		target: func(c *net.TCPConn) string {
			b, _ := io.ReadAll(c)
			c.Write([]byte("got " + string(b)))
			c.CloseWrite()
			return string(b)
		},
		peer: func(c halfCloser) string {
			c.Write([]byte("request"))
			c.CloseWrite()
			b, _ := io.ReadAll(c)
			return string(b)
		},
		wantRead: "request", wantPeer: "got request",
	},
}

// TestDirectTCPIPHalfClose pins that an EOF ends one direction only, both ways: the
// target's EOF reaches the client while the client keeps sending, and the client's EOF
// reaches the target while the target keeps sending.
func TestDirectTCPIPHalfClose(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)

	for _, tt := range halfCloseTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			read := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					read <- "accept: " + err.Error()
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				read <- tt.target(c.(*net.TCPConn))
			}()
			c, err := client.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			if got := tt.peer(c.(halfCloser)); got != tt.wantPeer {
				t.Errorf("client read %q, want %q", got, tt.wantPeer)
			}
			if got := <-read; got != tt.wantRead {
				t.Errorf("target read %q, want %q", got, tt.wantRead)
			}
		})
	}
}

func TestDirectTCPIPRefused(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name       string
		addr       string
		wantReason ssh.RejectionReason
		wantText   string
	}{
		{name: "nothing listening", addr: closed, wantReason: ssh.ConnectionFailed, wantText: "connection refused"},
		{name: "unknown host", addr: "no-such-host.invalid:80", wantReason: ssh.ConnectionFailed, wantText: "no-such-host.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.Dial("tcp", tt.addr)
			oce := openChannelError(t, err)
			if oce.Reason != tt.wantReason || !strings.Contains(oce.Message, tt.wantText) {
				t.Errorf("got reason %v %q, want %v mentioning %q", oce.Reason, oce.Message, tt.wantReason, tt.wantText)
			}
		})
	}
}

// TestDirectTCPIPChannelCloseClosesTarget pins that a channel the client closes while
// the target is idle releases the agent's connection to the target at once.
func TestDirectTCPIPChannelCloseClosesTarget(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ended := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ended <- err
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err = io.ReadAll(c) // nil once the agent closes its side
		ended <- err
	}()
	c, err := client.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-ended; err != nil {
		t.Errorf("target: got %v, want EOF after the client closed the channel", err)
	}
}

func TestDirectTCPIPConcurrent(t *testing.T) {
	t.Parallel()
	srv, signer := startTestServer(t)
	client := dialClient(t, srv, signer)
	echo := startEchoServer(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.Dial("tcp", echo)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			data := bytes.Repeat([]byte{byte(i)}, 16<<10+i)
			got, err := echoRoundTrip(c.(halfCloser), data)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("connection %d: got %d bytes back, want the %d sent", i, len(got), len(data))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
