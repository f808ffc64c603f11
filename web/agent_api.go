package web

import (
	"net"
	"net/netip"
)

// Agent is what the web server needs from the SSH server (main wires *agent.Server).
type Agent interface {
	// Accepting reports whether the SSH listener is accepting connections: what
	// /healthz answers.
	Accepting() bool
	// ServeConn serves one SSH connection carried by c as if the SSH listener had
	// accepted it (admission, limits, --allow-cidr, authentication and the audit log
	// all apply, with c.RemoteAddr() as the client's address). It returns when the
	// connection has ended and closes c.
	ServeConn(c net.Conn)
	// UserKeyFile returns the content of one of the id_container files, read as the
	// account: name is KeyPrivate, KeyPublic or KeyPPK.
	UserKeyFile(name string) ([]byte, error)
	// AllowsClient applies --allow-cidr to a client's address (an invalid one is
	// refused whenever --allow-cidr is set), for the routes that do not go through
	// ServeConn: the page, /terminal and the key downloads.
	AllowsClient(addr netip.Addr) bool
}

// The key files /id_container, /id_container.pub and /id_container.ppk serve.
const (
	KeyPrivate = "id_container"
	KeyPublic  = "id_container.pub"
	KeyPPK     = "id_container.ppk"
)
