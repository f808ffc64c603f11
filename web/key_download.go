package web

import (
	"errors"
	"io/fs"
	"net/http"
	"strconv"
)

// handleKey serves one id_container file as a download. The agent reads it as the
// account (Agent.UserKeyFile), so a symlink the user planted in the home cannot make
// root read another file.
func (s *Server) handleKey(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := s.cfg.Agent.UserKeyFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, name+" does not exist: restart jobsshd to have one generated", http.StatusNotFound)
			return
		}
		if err != nil {
			s.log.Warn("web key download", "event", "web.key", "file", name, "remote", s.clientAddr(r), "err", err)
			http.Error(w, "cannot read "+name+": see the agent's log", http.StatusInternalServerError)
			return
		}
		s.log.Info("web key download", "event", "web.key", "file", name, "remote", s.clientAddr(r))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b) // the client may be gone
	}
}
