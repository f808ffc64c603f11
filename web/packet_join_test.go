package web

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// writeRecorder is a net.Conn that records each Write (each one a WebSocket message on
// /ssh) and signals it on wrote.
type writeRecorder struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	err    error // returned by every Write once set
	wrote  chan struct{}
	closed bool
}

func newWriteRecorder() *writeRecorder { return &writeRecorder{wrote: make(chan struct{}, 100)} }

func (r *writeRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, bytes.Clone(p))
	r.wrote <- struct{}{}
	return len(p), nil
}

func (r *writeRecorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

func (r *writeRecorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []int
	for _, w := range r.writes {
		s = append(s, len(w))
	}
	return s
}

// awaitWrite waits for the next recorded write, bounded.
func (r *writeRecorder) awaitWrite(t *testing.T) {
	t.Helper()
	select {
	case <-r.wrote:
	case <-time.After(10 * time.Second):
		t.Fatalf("no write reached the connection within 10s; writes so far: %v", r.sizes())
	}
}

// sshPacketWrite writes one packet the way x/crypto/ssh does (transport.go and
// cipher.go): its 4-byte length, then the rest, through a 4 KiB bufio.Writer, then Flush.
func sshPacketWrite(t *testing.T, w *bufio.Writer, rest []byte) {
	t.Helper()
	if _, err := w.Write([]byte{0, 0, 0x80, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(rest); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestPacketJoinOneMessagePerPacket: a 32 KiB packet written as x/crypto writes it
// (4096 bytes, then the rest) reaches the connection as one write, in order; small
// packets go through as they are.
func TestPacketJoinOneMessagePerPacket(t *testing.T) {
	rec := newWriteRecorder()
	c := &packetJoinConn{Conn: rec}
	w := bufio.NewWriter(c)
	big := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
	sshPacketWrite(t, w, big)
	sshPacketWrite(t, w, []byte("small"))
	sshPacketWrite(t, w, big)
	if got, want := rec.sizes(), []int{4 + len(big), 4 + 5, 4 + len(big)}; !equalInts(got, want) {
		t.Fatalf("writes of %v bytes, want %v (one per packet)", got, want)
	}
	if !bytes.Equal(rec.writes[0][4:], big) {
		t.Fatal("the joined packet's bytes differ from those written")
	}
	if c.held != nil {
		t.Fatal("a buffer is still held between packets")
	}
}

// TestPacketJoinLonePieceSentAlone: a write of exactly 4096 bytes that is a whole packet
// (nothing follows) is still sent, alone, without waiting for another write.
func TestPacketJoinLonePieceSentAlone(t *testing.T) {
	rec := newWriteRecorder()
	c := &packetJoinConn{Conn: rec}
	piece := bytes.Repeat([]byte{7}, splitWriteSize)
	if n, err := c.Write(piece); n != len(piece) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	rec.awaitWrite(t)
	if got := rec.sizes(); !equalInts(got, []int{splitWriteSize}) {
		t.Fatalf("writes of %v bytes, want one of %d", got, splitWriteSize)
	}
	// The next packet is not joined to a piece already sent.
	if _, err := c.Write([]byte("next")); err != nil {
		t.Fatal(err)
	}
	if got := rec.sizes(); !equalInts(got, []int{splitWriteSize, 4}) {
		t.Fatalf("writes of %v bytes, want [4096 4]", got)
	}
}

// TestPacketJoinCloseSendsHeldPiece: Close sends a piece still held before closing.
func TestPacketJoinCloseSendsHeldPiece(t *testing.T) {
	rec := newWriteRecorder()
	c := &packetJoinConn{Conn: rec}
	if _, err := c.Write(make([]byte, splitWriteSize)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rec.sizes(); !equalInts(got, []int{splitWriteSize}) || !rec.closed {
		t.Fatalf("writes of %v bytes and closed %v, want [4096] and closed", got, rec.closed)
	}
}

// TestPacketJoinLateErrorReported: when the timer's write of a lone piece fails, the
// next Write returns that error instead of sending more.
func TestPacketJoinLateErrorReported(t *testing.T) {
	rec := newWriteRecorder()
	broken := errors.New("connection reset")
	rec.err = broken
	c := &packetJoinConn{Conn: rec}
	if _, err := c.Write(make([]byte, splitWriteSize)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "the timer's write of the lone piece to fail", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.lateErr != nil
	})
	if _, err := c.Write([]byte("more")); !errors.Is(err, broken) {
		t.Fatalf("Write after a failed late write = %v, want %v", err, broken)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
