package rawio

import (
	"net"
	"syscall"
)

// netConn is a socket whose Read and Write are raw calls; the rest is the connection's.
type netConn struct {
	net.Conn
	r  *reader
	w  *writer
	sc syscallConner
}

func (c *netConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *netConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// SyscallConn is the connection's own, for code that waits on the socket itself.
func (c *netConn) SyscallConn() (syscall.RawConn, error) { return c.sc.SyscallConn() }

// NetConn returns c with its Read and Write made by raw calls when c has a
// non-blocking descriptor (a TCP or unix socket from package net); any other
// connection (TLS, a net.Pipe) is returned as it is.
func NetConn(c net.Conn) net.Conn {
	sc, ok := c.(syscallConner)
	if !ok {
		return c
	}
	rc, ok := rawConnOf(c, false)
	if !ok {
		return c
	}
	return &netConn{Conn: c, r: newReader(rc), w: newWriter(rc), sc: sc}
}
