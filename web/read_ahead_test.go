package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/coder/websocket"

	"jobsshd/internal/testwait"
)

// TestMessageConnReadAheadOnlyWhileReading: 4 KiB reads (x/crypto's) get the bytes of
// messages of every size in order, through the read-ahead; once the messages are read
// and the reader waits for the next one, no read-ahead buffer is held, so an idle
// connection keeps none.
func TestMessageConnReadAheadOnlyWhileReading(t *testing.T) {
	waits := make(chan bool, 64)
	got := make(chan []byte, 1)
	ws, ctx := dialMessageConn(t, func(c *messageConn) {
		c.onWait = func(holding bool) { waits <- holding }
		var all []byte
		p := make([]byte, 4096)
		for {
			n, err := c.Read(p)
			all = append(all, p[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	})
	var want []byte
	for i, size := range []int{1, 4096, 5000, readAheadSize, readAheadSize + 3, 200_000} {
		msg := bytes.Repeat([]byte{byte('a' + i)}, size)
		want = append(want, msg...)
		if err := ws.Write(ctx, websocket.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, 5*time.Second, "the reader waiting for the next message", waitingForFrames)
	for len(waits) > 0 {
		if <-waits {
			t.Fatal("a read-ahead buffer is held while the connection waits for its next message")
		}
	}
	if err := ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Logf("close: %v", err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Errorf("read %d bytes, want the %d bytes of the messages in order", len(b), len(want))
		}
	case <-ctx.Done():
		t.Fatal("the server did not read to the end")
	}
}
