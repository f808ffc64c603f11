package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMessageConnReadsAcrossMessagesThenEOF: Read returns the bytes of consecutive
// binary messages as one stream (a read never sees a message boundary as an end), and
// io.EOF once the peer closes normally, as the SSH server expects of a TCP connection.
func TestMessageConnReadsAcrossMessagesThenEOF(t *testing.T) {
	got := make(chan []byte, 1)
	readErr := make(chan error, 1)
	ws, ctx := dialMessageConn(t, func(c *messageConn) {
		b, err := io.ReadAll(c) // ReadAll stops at io.EOF only
		got <- b
		readErr <- err
	})
	var want []byte
	for i, size := range []int{1, 0, 300, 70_000, 5} { // an empty message too
		msg := bytes.Repeat([]byte{byte('a' + i)}, size)
		want = append(want, msg...)
		if err := ws.Write(ctx, websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Logf("close: %v", err) // the server may close first once it has read EOF
	}
	select {
	case b := <-got:
		if err := <-readErr; err != nil {
			t.Errorf("ReadAll: %v, want the normal closure to read as io.EOF", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("read %d bytes, want the %d bytes of the messages in order", len(b), len(want))
		}
	case <-ctx.Done():
		t.Fatal("the server did not read to EOF")
	}
}

// TestMessageConnDeadline: a read deadline set on the message conn (the SSH server's
// login timeout) ends a read that waits for the peer.
func TestMessageConnDeadline(t *testing.T) {
	readErr := make(chan error, 1)
	_, ctx := dialMessageConn(t, func(c *messageConn) {
		_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := c.Read(make([]byte, 10))
		readErr <- err
		_ = c.tcp.Close()
	})
	select {
	case err := <-readErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Read after the deadline: %v, want a timeout", err)
		}
	case <-ctx.Done():
		t.Fatal("the deadline did not end the read")
	}
}

// dialMessageConn serves one WebSocket, handing its server end as a messageConn to
// serve (on the server's goroutine), and returns the client's end, connected, with a
// context that bounds the test: 10 s, or the test's end. Both close with the test.
func dialMessageConn(t *testing.T, serve func(c *messageConn)) (*websocket.Conn, context.Context) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := &coalescingHijacker{ResponseWriter: w}
		ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		serve(newMessageConn(ws, hj))
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() }) // closed already when the test closed it
	return ws, ctx
}
