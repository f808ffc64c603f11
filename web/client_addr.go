package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the client's address as the SSH layer and the logs see it: the HTTP
// peer's, or the one X-Forwarded-For names (forwardedClient) when the peer is one of
// --web-trusted-proxy (an ingress that sets the header). Anyone else can write any
// X-Forwarded-For they like, so theirs is ignored.
func (s *Server) clientAddr(r *http.Request) string {
	return s.clientTCPAddr(r).String()
}

// clientTCPAddr is clientAddr as a *net.TCPAddr, which the agent's --allow-cidr and
// from= checks read. A peer on a unix socket that sends no X-Forwarded-For, or a
// trusted proxy whose X-Forwarded-For names no address, has no address (the zero IP),
// which --allow-cidr refuses: falling back to the proxy's own address would let a
// client in as the proxy, which may well be inside --allow-cidr.
func (s *Server) clientTCPAddr(r *http.Request) *net.TCPAddr {
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	addr := peer.Addr().Unmap()
	if s.trusted(addr) {
		if values := r.Header.Values("X-Forwarded-For"); len(values) > 0 {
			client := s.forwardedClient(values)
			if !client.IsValid() {
				return &net.TCPAddr{IP: net.IPv4zero}
			}
			return net.TCPAddrFromAddrPort(netip.AddrPortFrom(client, 0))
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
func (s *Server) trusted(peer netip.Addr) bool {
	return s.onUnixSocket || s.trustedProxy(peer)
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedClient is the client a trusted proxy names in X-Forwarded-For (all its
// headers, in order, as one list): the last entry that is not itself one of
// --web-trusted-proxy. Only the entries the trusted proxies appended can be believed:
// most proxies (nginx's $proxy_add_x_forwarded_for, cloud load balancers) append the
// peer they saw to whatever the client sent, so the first entry is the client's to
// choose, and taking it would let anyone claim an address inside --allow-cidr or a
// from= option. An entry that is not a plain IP address, where the walk reaches it,
// makes the result the zero Addr: nothing to the left of it can be believed either.
// When every entry is a trusted proxy, the first one is the client.
func (s *Server) forwardedClient(values []string) netip.Addr {
	var entries []string
	for _, v := range values {
		entries = append(entries, strings.Split(v, ",")...)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil {
			return netip.Addr{}
		}
		a = a.Unmap().WithZone("")
		if i > 0 && s.trustedProxy(a) {
			continue
		}
		return a
	}
	return netip.Addr{}
}
