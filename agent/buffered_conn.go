package agent

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"jobsshd/internal/rawio"
)

// connReadBuffer is the read-ahead in front of each connection.
const connReadBuffer = 64 << 10

// bufferedConn reads its connection through a large buffer (newBufferedConn), which a
// TCP connection borrows only while bytes wait in it. x/crypto/ssh reads the
// transport through a 4 KiB bufio.Reader (transport.go newTransport), so a 32 KiB packet
// costs eight read(2) calls; with this in front, one call usually brings several packets
// and the 4 KiB reads are served from memory. Uploads spent about a quarter of the
// server's CPU in those syscalls.
//
// It also checks that the peer speaks SSH: a client's first bytes must be its version
// string, "SSH-" (only a server may send other lines first, RFC 4253 §4.2), so a peer
// that sends anything else is dropped at once, where x/crypto would read up to 255
// bytes of it first. And it watches the client's preamble, its version line and the
// first binary packet, which must be a KEXINIT (RFC 4253 §7.1): it calls onVersion once
// the version line is complete, onKexInit once the last byte of that packet has been
// read, so that the server can lift the short deadline it gives the preamble, and
// onActive whenever the client sends bytes after it (startups.go).
type bufferedConn struct {
	net.Conn
	r io.Reader // the read-ahead (newBufferedConn)
	// w writes a TCP socket with raw system calls (internal/rawio); nil: Conn.Write.
	w       io.Writer
	checked int // bytes of the "SSH-" prefix seen so far

	onVersion func() // nil: no one is watching
	onKexInit func() // nil: no one is watching
	onActive  func() // nil: no one is watching
	preamble  preambleWatch
}

// minKexInitPacket is the smallest packet_length a KEXINIT can have (RFC 4253 §6, §7.1):
// padding length, message type, 16-byte cookie, ten name-lists of at least a length
// each, first_kex_packet_follows and the reserved word, and 4 bytes of padding.
const minKexInitPacket = 1 + 1 + 16 + 10*4 + 1 + 4 + 4

// msgKexInit is SSH_MSG_KEXINIT (RFC 4253 §12).
const msgKexInit = 20

// preambleWatch follows the bytes of the client's preamble as they are read. The first
// packet is not encrypted (no keys are agreed before NEWKEYS), so its length and its
// message type can be read as they pass.
type preambleWatch struct {
	versionDone bool
	length      [4]byte // the first packet's length field
	lengthRead  int
	bodyRead    uint32 // bytes of the first packet after its length field read so far
	remaining   uint32 // bytes of the first packet after its length field not read yet
	done        bool   // a plausible KEXINIT packet was read whole
	bad         bool   // the first packet cannot be a KEXINIT: it is never done
}

// feed consumes bytes read from the client and reports whether they completed the first
// binary packet, and how many bytes of p followed it.
func (w *preambleWatch) feed(p []byte) (done bool, after int) {
	for len(p) > 0 && !w.done && !w.bad {
		switch {
		case !w.versionDone:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return false, 0
			}
			w.versionDone, p = true, p[i+1:]
		case w.lengthRead < len(w.length):
			n := copy(w.length[w.lengthRead:], p)
			w.lengthRead += n
			p = p[n:]
			if w.lengthRead == len(w.length) {
				w.remaining = binary.BigEndian.Uint32(w.length[:])
				// A zero or tiny length is no KEXINIT; x/crypto would reject it. Left
				// not done, the preamble deadline drops the connection.
				w.bad = w.remaining < minKexInitPacket
			}
		default:
			if w.bodyRead <= 1 && w.bodyRead+uint32(len(p)) > 1 && p[1-w.bodyRead] != msgKexInit {
				w.bad = true // byte 1 after the length field is the message type
				break
			}
			n := uint32(min(uint64(len(p)), uint64(w.remaining)))
			w.remaining -= n
			w.bodyRead += n
			p = p[n:]
			w.done = w.remaining == 0
		}
	}
	if w.done {
		return true, len(p)
	}
	return false, 0
}

// readsAhead is a connection that reads ahead itself, holding a buffer only while
// bytes wait in it (web's /ssh connections, web/read_ahead.go): bufferedConn reads it
// as it is.
type readsAhead interface{ ReadsAhead() bool }

// newBufferedConn puts a read-ahead in front of c: for a TCP connection one that holds
// its 64 KiB buffer only while bytes wait in it (socket_read_ahead_linux.go), for a
// connection that reads ahead itself none, and for any other (net.Pipe in tests) a
// bufio.Reader it keeps.
func newBufferedConn(c net.Conn) *bufferedConn {
	if ra, ok := c.(readsAhead); ok && ra.ReadsAhead() {
		return &bufferedConn{Conn: c, r: c}
	}
	if sr, ok := newSocketReadAhead(c); ok {
		bc := &bufferedConn{Conn: c, r: sr}
		bc.w, _ = rawio.WriterOf(sr.raw) // nil (Conn.Write) if the socket were blocking
		return bc
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}
}

const versionPrefix = "SSH-"

var errNotSSH = errors.New("not an SSH client")

func (c *bufferedConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.checked < len(versionPrefix) {
		for _, b := range p[:n] {
			if c.checked == len(versionPrefix) {
				break
			}
			if b != versionPrefix[c.checked] {
				return 0, fmt.Errorf("%w: its first bytes are %q, not an SSH version string", errNotSSH, p[:min(n, 16)])
			}
			c.checked++
		}
	}
	switch {
	case c.onKexInit != nil && !c.preamble.done:
		hadVersion := c.preamble.versionDone
		done, after := c.preamble.feed(p[:n])
		if !hadVersion && c.preamble.versionDone && !done && c.onVersion != nil {
			c.onVersion()
		}
		if done {
			c.onKexInit()
		}
		if after > 0 && c.onActive != nil {
			c.onActive()
		}
	case n > 0 && c.onActive != nil:
		c.onActive()
	}
	return n, err
}

// Write writes to the socket outside the runtime's syscall bookkeeping when it can
// (internal/rawio): every packet the agent sends passes here.
func (c *bufferedConn) Write(p []byte) (int, error) {
	if c.w != nil {
		return c.w.Write(p)
	}
	return c.Conn.Write(p)
}
