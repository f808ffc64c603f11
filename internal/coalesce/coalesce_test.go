package coalesce

import (
	"bytes"
	"net"
	"testing"
)

// recordingConn records each Write it gets.
type recordingConn struct {
	net.Conn
	writes [][]byte
}

func (r *recordingConn) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func TestGathersBetweenHoldAndRelease(t *testing.T) {
	rec := &recordingConn{}
	c := &Conn{Conn: rec}
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 {
		t.Fatalf("a write outside Hold: got %d writes, want it sent at once", len(rec.writes))
	}
	c.Hold()
	for range 16 {
		if _, err := c.Write(bytes.Repeat([]byte{'x'}, 4096)); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.writes) != 1 {
		t.Fatalf("during Hold: %d writes reached the connection, want none", len(rec.writes)-1)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 2 || len(rec.writes[1]) != 16*4096 {
		t.Fatalf("after Release: got %d writes (last %d bytes), want one of %d bytes", len(rec.writes)-1, len(rec.writes[len(rec.writes)-1]), 16*4096)
	}
	if c.buf != nil {
		t.Error("the buffer is kept after Release, want it back in the pool (idle connections hold none)")
	}
}

func TestLargerThanTheBufferIsSentInOrder(t *testing.T) {
	rec := &recordingConn{}
	c := &Conn{Conn: rec}
	c.Hold()
	var want []byte
	for i := range 40 {
		p := bytes.Repeat([]byte{byte(i)}, 4096)
		want = append(want, p...)
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte{'B'}, 2*maxGathered)
	want = append(want, big...)
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(rec.writes, nil); !bytes.Equal(got, want) {
		t.Errorf("the bytes sent differ from those written (%d against %d bytes)", len(got), len(want))
	}
	for _, w := range rec.writes[:len(rec.writes)-1] {
		if len(w) > maxGathered {
			t.Errorf("a gathered write of %d bytes, want at most %d", len(w), maxGathered)
		}
	}
}
