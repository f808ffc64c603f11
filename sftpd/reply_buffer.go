package sftpd

import "io"

// replyBuffer gathers replies and writes them in batches of up to its capacity, as a
// bufio.Writer would, but also lets a READ reply take its room first and have the file
// read straight into it (reserve, then unreserve what the read did not fill): the data
// is then copied once, from the page cache to the buffer, instead of twice. In a 512 MiB
// download that was one of the child's two user-space copies (BENCHMARKS.md, issue 14).
type replyBuffer struct {
	w   io.Writer
	buf []byte // len: bytes waiting; cap: the batch size
	err error  // the first write error; every later call returns it
}

func newReplyBuffer(w io.Writer, size int) *replyBuffer {
	return &replyBuffer{w: w, buf: make([]byte, 0, size)}
}

// Flush writes what waits.
func (r *replyBuffer) Flush() error {
	if r.err != nil {
		return r.err
	}
	if len(r.buf) > 0 {
		_, r.err = r.w.Write(r.buf)
		r.buf = r.buf[:0]
	}
	return r.err
}

// Write queues p, flushing first when it does not fit; p larger than the buffer is
// written directly.
func (r *replyBuffer) Write(p []byte) (int, error) {
	if len(p) > cap(r.buf)-len(r.buf) {
		if err := r.Flush(); err != nil {
			return 0, err
		}
		if len(p) > cap(r.buf) {
			_, r.err = r.w.Write(p)
			if r.err != nil {
				return 0, r.err
			}
			return len(p), nil
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	r.buf = append(r.buf, p...)
	return len(p), nil
}

// reserve queues n bytes for the caller to fill and returns them, flushing first when
// they do not fit. n must not exceed the buffer's capacity.
func (r *replyBuffer) reserve(n int) ([]byte, error) {
	if n > cap(r.buf)-len(r.buf) {
		if err := r.Flush(); err != nil {
			return nil, err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	start := len(r.buf)
	r.buf = r.buf[:start+n]
	return r.buf[start:], nil
}

// unreserve drops the last n bytes queued, the part of a reservation left unfilled.
func (r *replyBuffer) unreserve(n int) { r.buf = r.buf[:len(r.buf)-n] }
