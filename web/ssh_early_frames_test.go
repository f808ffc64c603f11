package web

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSSHFramesSentWithTheUpgrade: frames a client sends in the same packet as its
// upgrade request, before the 101, reach the SSH server: they were read by net/http
// past the request, and the small reader that replaces net/http's must start with them
// (newFrameWaitConn).
func TestSSHFramesSentWithTheUpgrade(t *testing.T) {
	ts := newTestServer(t, Config{})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	payload := []byte("SSH-2.0-early\r\n")
	// A masked binary frame (RFC 6455 §5.2), mask key 1,2,3,4.
	key := []byte{1, 2, 3, 4}
	frame := append([]byte{0x82, 0x80 | byte(len(payload))}, key...)
	for i, b := range payload {
		frame = append(frame, b^key[i%4])
	}
	req := "GET /ssh HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " + testToken + "\r\n\r\n"
	if _, err := c.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// The fake agent echoes: an unmasked binary frame with the same payload.
	got := make([]byte, 2+len(payload))
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatalf("no echo of the early frame: %v", err)
	}
	if want := append([]byte{0x82, byte(len(payload))}, payload...); !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
