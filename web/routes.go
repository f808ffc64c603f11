package web

import "net/http"

// routes is the whole URL space. Only /healthz answers without the token; the
// WebSocket endpoints also check Origin (origin.go). --allow-cidr applies to every
// route but /healthz (allowed_source.go).
func (s *Server) routes() http.Handler {
	authed := http.NewServeMux()
	authed.HandleFunc("GET /{$}", s.handlePage)
	authed.HandleFunc("GET /assets/", s.handleAsset) // page.go
	authed.HandleFunc("GET /terminal", s.handleTerminal)
	authed.HandleFunc("GET /ssh", s.handleSSH)
	for _, name := range []string{KeyPrivate, KeyPublic, KeyPPK} {
		authed.HandleFunc("GET /"+name, s.handleKey(name))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.Handle("/", s.requireAllowedSource(s.requireToken(authed)))
	return securityHeaders(mux)
}

// securityHeaders are sent with every answer: nothing of ours may be framed by another
// site (clickjacking a terminal) or sniffed into another type.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
