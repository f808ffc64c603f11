package web

// outputRing keeps the last len(buf) bytes of a shell's output, addressed by their
// offset in the whole output, so that a page that reconnects gets what it missed.
type outputRing struct {
	buf []byte
	end int64 // bytes written in all; the ring holds [start(), end)
}

func newOutputRing(size int) *outputRing { return &outputRing{buf: make([]byte, size)} }

// start is the offset of the oldest byte still held.
func (r *outputRing) start() int64 { return max(0, r.end-int64(len(r.buf))) }

// write appends p, dropping the oldest bytes beyond the ring's size.
func (r *outputRing) write(p []byte) {
	if len(p) > len(r.buf) {
		r.end += int64(len(p) - len(r.buf))
		p = p[len(p)-len(r.buf):]
	}
	for len(p) > 0 {
		i := int(r.end % int64(len(r.buf)))
		n := copy(r.buf[i:], p)
		p = p[n:]
		r.end += int64(n)
	}
}

// read copies into dst the bytes from offset off on, as many as fit and are held; off
// must be within [start(), end].
func (r *outputRing) read(off int64, dst []byte) int {
	n := 0
	for n < len(dst) && off < r.end {
		i := int(off % int64(len(r.buf)))
		m := copy(dst[n:], r.buf[i:min(len(r.buf), i+int(r.end-off))])
		n += m
		off += int64(m)
	}
	return n
}
