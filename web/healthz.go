package web

import "net/http"

// handleHealthz answers "200 ok" while the SSH listener accepts connections
// (Agent.Accepting: between the start of its accept loop and Shutdown, and not while
// it backs off from running out of descriptors), else 503. It needs no token, so that
// a Kubernetes probe can call it, and tells nothing else.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.cfg.Agent.Accepting() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not accepting\n")) // the prober may be gone
		return
	}
	_, _ = w.Write([]byte("ok\n")) // the prober may be gone
}
