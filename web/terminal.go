package web

import "net/http"

// handleTerminal serves the /terminal WebSocket. The term engineer replaces this file.
func (s *Server) handleTerminal(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "the web terminal is not built yet", http.StatusNotImplemented)
}
