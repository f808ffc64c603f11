package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the client's address as the SSH layer and the logs see it: the HTTP
// peer's, or the first X-Forwarded-For entry when the peer is one of
// --web-trusted-proxy (an ingress that sets the header). Anyone else can write any
// X-Forwarded-For they like, so theirs is ignored.
func (s *Server) clientAddr(r *http.Request) string {
	return s.clientTCPAddr(r).String()
}

// clientTCPAddr is clientAddr as a *net.TCPAddr, which the agent's --allow-cidr and
// from= checks read. A peer on a unix socket that sends no X-Forwarded-For has no
// address (the zero IP), which --allow-cidr refuses.
func (s *Server) clientTCPAddr(r *http.Request) *net.TCPAddr {
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	addr := peer.Addr().Unmap()
	if s.trusted(addr, r) {
		if first, ok := firstForwardedFor(r.Header.Values("X-Forwarded-For")); ok {
			return net.TCPAddrFromAddrPort(netip.AddrPortFrom(first, 0))
		}
	}
	if !addr.IsValid() {
		return &net.TCPAddr{IP: net.IPv4zero}
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, peer.Port()))
}

// trusted reports whether the peer may speak for the client in X-Forwarded-For: one of
// --web-trusted-proxy, or any peer on a unix socket (--web unix:/path), which is the
// sidecar in front: the socket is 0660, so only its owner and group can connect.
func (s *Server) trusted(peer netip.Addr, r *http.Request) bool {
	if s.onUnixSocket {
		return true
	}
	for _, p := range s.cfg.TrustedProxies {
		if peer.IsValid() && p.Contains(peer) {
			return true
		}
	}
	return false
}

// firstForwardedFor is the first entry of the first X-Forwarded-For header: the
// address the first proxy saw. An entry that is not a plain IP address is no address.
func firstForwardedFor(values []string) (netip.Addr, bool) {
	if len(values) == 0 {
		return netip.Addr{}, false
	}
	first, _, _ := strings.Cut(values[0], ",")
	a, err := netip.ParseAddr(strings.TrimSpace(first))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
