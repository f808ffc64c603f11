package agent

import (
	"bufio"
	"net"
)

// connReadBuffer is the read-ahead in front of each connection.
const connReadBuffer = 64 << 10

// bufferedConn reads its connection through a large buffer. x/crypto/ssh reads the
// transport through a 4 KiB bufio.Reader (transport.go newTransport), so a 32 KiB packet
// costs eight read(2) calls; with this in front, one call usually brings several packets
// and the 4 KiB reads are served from memory. Uploads spent about a quarter of the
// server's CPU in those syscalls.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func newBufferedConn(c net.Conn) *bufferedConn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
