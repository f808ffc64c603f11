package web

import (
	"net/http"
	"net/netip"
	"strings"
)

// overHTTPS reports whether the browser reached the page over HTTPS: our own TLS, or
// a trusted proxy (client_addr.go) that terminated TLS and says so in
// X-Forwarded-Proto, as ingresses do. The cookie is then Secure, so that the browser
// never sends the token in clear to the same host on plain HTTP (a typed http:// URL
// that the ingress would only redirect).
func (s *Server) overHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	if !s.trusted(peer.Addr().Unmap()) {
		return false
	}
	// A chain of proxies may list one scheme each; the first is the browser's.
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}
