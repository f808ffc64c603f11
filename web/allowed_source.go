package web

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
)

// requireAllowedSource applies the agent's --allow-cidr to every route but /healthz,
// before the token is looked at. The SSH server applies it to /ssh as to its own port,
// but the page, /terminal and the key downloads never reach the SSH server: without
// this, a client from outside --allow-cidr holding the token would get a shell and the
// private key there.
func (s *Server) requireAllowedSource(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := s.clientTCPAddr(r)
		if !s.cfg.Agent.AllowsClient(netipOf(client)) {
			s.refusals.Log(s.log, slog.LevelWarn, "web request refused", "event", "web.refuse", "remote", client.String(),
				"path", clipPath(r.URL.Path), "reason", "source not in --allow-cidr")
			http.Error(w, "forbidden: this client's address is not in the agent's --allow-cidr", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// netipOf is a's IP as a netip.Addr, IPv4 unmapped; the zero Addr when it has none.
func netipOf(a *net.TCPAddr) netip.Addr {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Addr{}
	}
	return ip.Unmap()
}
