package web

import (
	"net/http"
	"net/netip"
	"strings"
)

// requestScheme is the scheme the browser used to reach the agent, when the agent
// knows it: https under its own TLS; what a trusted proxy (client_addr.go) that
// terminated TLS says in X-Forwarded-Proto, as ingresses do. Otherwise known is false:
// plain HTTP here may be a TLS connection to a proxy the agent was not told of.
func (s *Server) requestScheme(r *http.Request) (scheme string, known bool) {
	if r.TLS != nil {
		return "https", true
	}
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	if !s.trusted(peer.Addr().Unmap()) {
		return "", false
	}
	// A chain of proxies may list one scheme each; the first is the browser's.
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	switch p := strings.ToLower(strings.TrimSpace(first)); p {
	case "http", "https":
		return p, true
	}
	return "", false
}

// overHTTPS reports whether the browser reached the page over HTTPS, as far as the
// agent knows (requestScheme). The cookie is then Secure, so that the browser never
// sends the token in clear to the same host on plain HTTP (a typed http:// URL that
// the ingress would only redirect).
func (s *Server) overHTTPS(r *http.Request) bool {
	scheme, _ := s.requestScheme(r)
	return scheme == "https"
}
