package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"jobsshd/internal/logclip"
)

// cookieName is the cookie the page's ?token= sets, so that the token leaves the
// address bar (and the browser history) after the first request, as Jupyter does.
const cookieName = "jobsshd_web_token"

// cookieMaxAge bounds how long a browser keeps the cookie: a week of a job's lifetime.
const cookieMaxAge = 7 * 24 * 3600

// requireToken wraps next so that it runs only for requests carrying the token: as
// "Authorization: Bearer TOKEN", in the cookie, or as ?token= on a GET of the page,
// which sets the cookie and redirects to the same URL without the token. Failures are
// rate-limited per client address and logged without what was sent.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Failures count per address, not per connection: a guesser opens as many
		// connections as it likes.
		client := s.clientTCPAddr(r).IP.String()
		if !s.failures.allow(client) {
			w.Header().Set("Retry-After", "10")
			http.Error(w, "too many failed attempts: wait and retry with the right token", http.StatusTooManyRequests)
			return
		}
		if q, ok := r.URL.Query()["token"]; ok && r.URL.Path == "/" && r.Method == http.MethodGet {
			if len(q) == 1 && s.token.matches(q[0]) {
				s.setCookieAndRedirect(w, r)
				return
			}
			s.refuse(w, r, client, "wrong token in ?token=")
			return
		}
		presented, how := s.presentedToken(r)
		if how == "" {
			s.refuse(w, r, client, "no token")
			return
		}
		if !s.token.matches(presented) {
			s.refuse(w, r, client, "wrong token in "+how)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// presentedToken is the token the request carries and where: the Authorization header
// wins over the cookie.
func (s *Server) presentedToken(r *http.Request) (value, how string) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, v, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", "Authorization header (not Bearer)"
		}
		return strings.TrimSpace(v), "Authorization header"
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return c.Value, "cookie"
	}
	return "", ""
}

// matches compares in constant time: how long a comparison takes tells nothing about
// how much of a guess was right. Both sides are hashed first, because
// subtle.ConstantTimeCompare returns at once for different lengths.
func (t token) matches(v string) bool {
	got, want := sha256.Sum256([]byte(v)), sha256.Sum256(t.value)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

func (s *Server) setCookieAndRedirect(w http.ResponseWriter, r *http.Request) {
	// No Path: the browser then scopes the cookie to the directory of the page's URL as
	// it sees it (RFC 6265 §5.1.4), e.g. /jobs/42/ behind an ingress that strips that
	// prefix, so that the agents of two jobs under one host do not overwrite each
	// other's cookie.
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: string(s.token.value), MaxAge: cookieMaxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overHTTPS(r),
	})
	q := r.URL.Query()
	q.Del("token")
	// A relative Location keeps whatever path prefix an ingress strips off in front
	// of us (the page is served only at "/").
	loc := "./"
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", loc) // not http.Redirect, which makes it absolute
	w.WriteHeader(http.StatusSeeOther)
}

// refuse answers 401 and logs the refusal, rate-limited, naming what was missing or
// wrong but never what was sent.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, client, why string) {
	s.failures.record(client)
	s.refusals.Log(s.log, slog.LevelWarn, "web request refused", "event", "web.refuse", "remote", client, "path", clipPath(r.URL.Path), "reason", why)
	w.Header().Set("WWW-Authenticate", `Bearer realm="jobsshd"`)
	http.Error(w, "unauthorized: open the page as URL?token=TOKEN (the token is in the agent's web-token file), or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
}

// clipPath bounds a request path (or an Origin) for the log.
func clipPath(p string) string { return logclip.Clip(p, 128) }
