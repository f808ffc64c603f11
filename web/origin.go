package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// origin is a web origin as RFC 6454 §4 compares them: scheme, host and port, with the
// scheme's default port filled in and the scheme and host lowercased.
type origin struct{ scheme, host, port string }

// parseOrigin reads an Origin header or a --web-allowed-origin entry:
// scheme://host[:port] with scheme http or https and nothing after the host but an
// optional "/".
func parseOrigin(s string) (origin, error) {
	u, err := url.Parse(s)
	if err != nil {
		return origin{}, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return origin{}, fmt.Errorf("%q is no origin: want http:// or https:// and a host, with an optional :port and nothing else", s)
	}
	return originOf(u.Scheme, u.Host), nil
}

// originOf is the origin of scheme and a Host header's host[:port].
func originOf(scheme, hostPort string) origin {
	u := url.URL{Host: hostPort}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return origin{scheme: strings.ToLower(scheme), host: strings.ToLower(u.Hostname()), port: port}
}

// parseAllowedOrigins checks --web-allowed-origin at start.
func parseAllowedOrigins(list []string) ([]origin, error) {
	var out []origin
	for _, s := range list {
		o, err := parseOrigin(s)
		if err != nil {
			return nil, fmt.Errorf("--web-allowed-origin: %w (such as https://ui.example)", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// originAllowed reports whether a WebSocket upgrade may proceed: a request without an
// Origin header comes from no browser (jobsshd proxy, curl) and needs only the token;
// a browser's must be the page's own origin (scheme, host and port, as the request
// reached the agent) or a --web-allowed-origin, so that another site open in the same
// browser cannot drive a shell with the user's cookie. The scheme counts where the
// agent knows it: under its own TLS, or from a trusted proxy's X-Forwarded-Proto, an
// http:// page (which anyone on the network can rewrite) cannot open the WebSockets of
// the https:// one, and the other way round. Over plain HTTP from another peer, a
// TLS-terminating proxy the agent was not told of may be in front: either scheme is
// taken, with the host and port compared.
func (s *Server) originAllowed(r *http.Request) bool {
	header := r.Header.Get("Origin")
	if header == "" {
		return true
	}
	o, err := parseOrigin(header)
	if err != nil {
		return false // "null" (a sandboxed or file: page) and anything unreadable
	}
	scheme, known := s.requestScheme(r)
	if !known {
		scheme = o.scheme
	}
	if o == originOf(scheme, r.Host) {
		return true
	}
	for _, a := range s.allowedOrigins {
		if o == a {
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
