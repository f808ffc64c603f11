package web

import (
	"bytes"
	"testing"
)

// TestOutputRing writes chunks of many sizes, wrapping the ring many times, and reads
// back every held range against a plain copy of the whole output.
func TestOutputRing(t *testing.T) {
	t.Parallel()
	const size = 64
	r := newOutputRing(size)
	var all []byte
	for i := 0; i < 200; i++ {
		chunk := bytes.Repeat([]byte{byte(i)}, (i*7)%(size+20)) // sometimes longer than the ring
		for j := range chunk {
			chunk[j] += byte(j)
		}
		r.write(chunk)
		all = append(all, chunk...)
		if r.end != int64(len(all)) {
			t.Fatalf("end: got %d, want %d", r.end, len(all))
		}
		if want := max(0, int64(len(all))-size); r.start() != want {
			t.Fatalf("start: got %d, want %d", r.start(), want)
		}
		for off := r.start(); off <= r.end; off += 5 {
			buf := make([]byte, 17)
			n := r.read(off, buf)
			want := all[off:min(int64(len(all)), off+17)]
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("read at %d after %d writes: got %v, want %v", off, i, buf[:n], want)
			}
		}
	}
}
