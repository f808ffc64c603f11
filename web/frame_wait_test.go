package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jobsshd/internal/coalesce"
	"jobsshd/internal/testwait"
)

// waitingForFrames reports whether some goroutine waits in frameWaitConn.waitFrame:
// an idle /ssh reader, outside the library.
func waitingForFrames() bool {
	buf := make([]byte, 1<<20)
	return bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("frameWaitConn).waitFrame"))
}

// TestSSHIdleReaderPingAndClose: while the server's reader waits for the next frame
// outside the library, a ping from the peer is still answered, messages still flow,
// and the peer's close frame completes the close handshake.
func TestSSHIdleReaderPingAndClose(t *testing.T) {
	ts := newTestServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+ts.url[len("http"):]+"/ssh", &websocket.DialOptions{HTTPHeader: bearer(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	echo := func(msg string) {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageBinary, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := ws.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("echo of %q: got %q, %v", msg, got, err)
		}
		testwait.For(t, 5*time.Second, "the server's reader waiting outside the library", waitingForFrames)
	}
	echo("before")
	read := make(chan string, 1)
	go func() { _, got, err := ws.Read(ctx); read <- fmt.Sprint(string(got), err) }() // reads the pong, then "after"
	if err := ws.Ping(ctx); err != nil {
		t.Fatalf("ping while the server's reader was idle: %v", err)
	}
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if got := <-read; got != "after<nil>" {
		t.Fatalf("echo after the ping: got %q", got)
	}
	testwait.For(t, 5*time.Second, "the server's reader waiting outside the library", waitingForFrames)
	echo("again")
	if err := ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("close handshake with an idle server reader: %v, want it answered", err)
	}
}

// TestMessageConnCloseWhileWaiting: the agent closing a connection whose reader waits
// for the next frame completes the close handshake with a peer that answers (the
// peer's close frame reaches the library whole, its first byte included), and the
// waiting Read returns.
func TestMessageConnCloseWhileWaiting(t *testing.T) {
	closeErr := make(chan error, 1)
	readErr := make(chan error, 1)
	ws, ctx := dialMessageConn(t, func(c *messageConn) {
		go func() { _, err := c.Read(make([]byte, 10)); readErr <- err }()
		testwait.For(t, 5*time.Second, "the reader waiting outside the library", waitingForFrames)
		closeErr <- c.Close()
	})
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("client read: %v, want the server's normal closure", err) // the library answers it
	}
	select {
	case err := <-closeErr:
		if err != nil {
			t.Errorf("Close: %v, want the handshake completed", err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	select {
	case err := <-readErr:
		if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("the waiting Read returned %v, want the connection's end", err)
		}
	case <-ctx.Done():
		t.Fatal("the waiting Read did not return after Close")
	}
}

// TestSSHFramesReadAheadAreNotWaitedFor: two small frames that arrive in one read sit
// whole in the library's reader once the first is read; the second is served from
// there, not waited for on the socket (where nothing more comes).
func TestSSHFramesReadAheadAreNotWaitedFor(t *testing.T) {
	ts := newTestServer(t, Config{})
	c, br := upgradeRaw(t, ts)
	key := []byte{1, 2, 3, 4}
	var frames []byte
	for _, b := range []byte("ab") { // a masked binary frame of one byte each (RFC 6455 §5.2)
		frames = append(frames, 0x82, 0x81, key[0], key[1], key[2], key[3], b^key[0])
	}
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatalf("echo of two frames sent together: %v (got %q)", err, got)
	}
	if want := []byte{0x82, 1, 'a', 0x82, 1, 'b'}; !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// upgradeRaw opens /ssh on a plain TCP connection with the token, and returns it with
// the reader past the 101 answer; the connection closes with the test.
func upgradeRaw(t *testing.T, ts *testServer) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /ssh HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " + testToken + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return c, br
}

// parkedInWaitFrame reports whether a goroutine waits in the poller from inside
// frameWaitConn.waitFrame, not merely runs through it.
func parkedInWaitFrame() bool {
	buf := make([]byte, 1<<20)
	for _, g := range bytes.Split(buf[:runtime.Stack(buf, true)], []byte("\n\n")) {
		if bytes.Contains(g, []byte("frameWaitConn).waitFrame")) && bytes.Contains(g, []byte("pollDesc).waitRead")) {
			return true
		}
	}
	return false
}

// TestFrameWaitHoldsNoBufferWhileIdle: an idle /ssh connection's wait for the next
// frame holds no read buffer; one is borrowed only while bytes read from the socket
// wait for the library, and given back once it has them, also when the wait ends at
// a deadline.
func TestFrameWaitHoldsNoBufferWhileIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	w := newFrameWaitConn(&coalesce.Conn{Conn: server}, nil)
	if w.raw == nil {
		t.Fatal("a TCP connection gave no socket to wait on")
	}
	waited := make(chan struct{})
	go func() { w.waitFrame(); close(waited) }()
	testwait.For(t, 5*time.Second, "the wait for a frame to block in the poller", parkedInWaitFrame)
	if n := w.borrowed.Load(); n != 0 {
		t.Fatalf("an idle wait holds %d read buffers, want none", n)
	}
	if _, err := client.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	<-waited
	if n := w.borrowed.Load(); n != 1 {
		t.Fatalf("bytes waiting for the library: %d buffers borrowed, want 1", n)
	}
	got := make([]byte, 16)
	if n, err := w.Read(got); err != nil || string(got[:n]) != "frame" {
		t.Fatalf("read after the wait: %q, %v", got[:n], err)
	}
	if n := w.borrowed.Load(); n != 0 {
		t.Fatalf("after the library took the bytes: %d buffers borrowed, want none", n)
	}
	_ = server.SetReadDeadline(time.Now().Add(-time.Second))
	w.waitFrame() // returns at the deadline
	if n := w.borrowed.Load(); n != 0 {
		t.Fatalf("after a wait ended by its deadline: %d buffers borrowed, want none", n)
	}
	if _, err := w.Read(got); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want the deadline's error", err)
	}
}
