package web

import "sync"

// readAheadSize is the read-ahead of an /ssh connection: a message from jobsshd proxy
// (coalesce.MaxMessage) in one read.
//
// x/crypto/ssh reads its connection 4 KiB at a time (transport.go's bufio.Reader); the
// agent puts a 64 KiB buffer in front of each connection (agent/buffered_conn.go) so
// that an upload costs one read(2) per 64 KiB rather than per 4 KiB. In front of a
// connection that is not a TCP socket, such as this one, that buffer is a bufio.Reader
// kept for the connection's life, also while it idles, and costs an idle connection
// more than all the rest. An /ssh connection says it reads ahead itself
// (sshConn.ReadsAhead), so the agent adds no buffer of its own, and messageConn borrows
// one from readAheadBuffers only while a message's bytes wait in it: an idle /ssh
// connection holds none.
const readAheadSize = 64 << 10

var readAheadBuffers = sync.Pool{New: func() any { b := make([]byte, readAheadSize); return &b }}

// fillAhead reads what the current message has, up to readAheadSize, into a borrowed
// buffer; the caller holds readMu and c.msg is not nil. A read that brings nothing
// (the message has ended) gives the buffer back at once.
func (c *messageConn) fillAhead() {
	buf := readAheadBuffers.Get().(*[]byte)
	n, _ := c.readMessage(*buf) // an error is in readErr
	if n == 0 {
		readAheadBuffers.Put(buf)
		return
	}
	c.ahead, c.aheadBuf = (*buf)[:n], buf
}

// readAhead returns bytes from the read-ahead, and gives the buffer back once it is
// drained; the caller holds readMu.
func (c *messageConn) readAhead(p []byte) int {
	n := copy(p, c.ahead)
	c.ahead = c.ahead[n:]
	if len(c.ahead) == 0 {
		readAheadBuffers.Put(c.aheadBuf)
		c.ahead, c.aheadBuf = nil, nil
	}
	return n
}
