package agent

import (
	"bufio"
	"errors"
	"fmt"
	"net"
)

// connReadBuffer is the read-ahead in front of each connection.
const connReadBuffer = 64 << 10

// bufferedConn reads its connection through a large buffer. x/crypto/ssh reads the
// transport through a 4 KiB bufio.Reader (transport.go newTransport), so a 32 KiB packet
// costs eight read(2) calls; with this in front, one call usually brings several packets
// and the 4 KiB reads are served from memory. Uploads spent about a quarter of the
// server's CPU in those syscalls.
//
// It also checks that the peer speaks SSH: a client's first bytes must be its version
// string, "SSH-" (only a server may send other lines first, RFC 4253 §4.2), so a peer
// that sends anything else is dropped at once, where x/crypto would read up to 255
// bytes of it first.
type bufferedConn struct {
	net.Conn
	r       *bufio.Reader
	checked int // bytes of the "SSH-" prefix seen so far
}

func newBufferedConn(c net.Conn) *bufferedConn {
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
	return n, err
}
