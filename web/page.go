package web

import "net/http"

// handlePage serves the terminal page. The term engineer replaces this file.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "the terminal page is not built yet", http.StatusNotImplemented)
}
