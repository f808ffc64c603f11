package web

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// assets are the page and what it loads: the page's own script and style, and xterm.js
// vendored from npm with its licences (assets/vendor, refreshed by
// assets/refresh-vendor.sh). Nothing is fetched from anywhere else at run time.
//
//go:embed assets/index.html assets/terminal.js assets/terminal.css assets/vendor
var assets embed.FS

// nonceMarker is where index.html takes this response's CSP nonce.
const nonceMarker = "{{NONCE}}"

// contentSecurityPolicy allows the page nothing but the agent itself: its scripts,
// styles and WebSocket; no inline script, no other origin, no framing, no form posts.
// Styles also allow <style> elements with the response's nonce, which terminal.js
// gives to those xterm.js creates.
func contentSecurityPolicy(nonce string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'nonce-" + nonce + "'",
		"connect-src 'self'",
		"img-src 'self'",
		"font-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// handlePage serves the terminal page, with a fresh nonce in its policy.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, "the terminal page is missing from this build", http.StatusInternalServerError)
		return
	}
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		http.Error(w, "cannot make a nonce for the page", http.StatusInternalServerError)
		return
	}
	nonce := base64.StdEncoding.EncodeToString(raw[:])
	page = bytes.ReplaceAll(page, []byte(nonceMarker), []byte(nonce))
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy(nonce))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(page) // the browser may be gone
}

// handleAsset serves the page's scripts and styles. They change with the agent's
// version, so the browser revalidates them.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "assets/index.html" || !strings.HasPrefix(name, "assets/") {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(assets, name); err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, assets, name)
}
