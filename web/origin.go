package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// originAllowed reports whether a WebSocket upgrade may proceed: a request without an
// Origin header comes from no browser (jobsshd proxy, curl) and needs only the token;
// a browser's must come from the page's own host or from --web-allowed-origin, so that
// another site open in the same browser cannot drive a shell with the user's cookie.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}

// refuseOrigin answers 403 to an upgrade from a foreign Origin and logs it.
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request) {
	s.refusals.Log(s.log, slog.LevelWarn, "web upgrade refused", "event", "web.refuse", "remote", s.clientAddr(r),
		"path", clipPath(r.URL.Path), "reason", "origin not allowed", "origin", clipPath(r.Header.Get("Origin")))
	http.Error(w, "forbidden: this page's origin may not open the WebSocket; the agent's operator can allow it with --web-allowed-origin", http.StatusForbidden)
}
