package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"

	"jobsshd/keys"
)

// This file is what the web server (package web, wired by main) uses of the agent:
// /healthz, /ssh, the key downloads, the state directory for the token and the web
// part of status.json. package agent does not import web.

// Accepting reports whether the SSH listener accepts connections: Serve's loop runs,
// Shutdown has not begun, and it is not backing off from running out of descriptors.
func (s *Server) Accepting() bool {
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	return !down && s.accepting.Load()
}

// ServeConn serves one SSH connection that arrived some other way than the listener
// (a WebSocket on /ssh) exactly as an accepted one: it is counted for
// --max-connections and Shutdown, and goes through --allow-cidr, admission, the
// handshake and authentication with c.RemoteAddr() (a *net.TCPAddr) as the client's
// address. It returns when the connection has ended, and closes c.
func (s *Server) ServeConn(c net.Conn) {
	if !s.track(c) {
		_ = c.Close() // shutting down
		return
	}
	defer s.untrack(c)
	s.serveConn(c)
	_ = c.Close() // serveConn has closed it on most paths; a second close is harmless
}

// AllowsClient applies --allow-cidr to a web client's address, for the web routes
// that do not go through ServeConn (the page, /terminal, the key downloads).
func (s *Server) AllowsClient(a netip.Addr) bool { return s.allowedSource(a) }

// UserKeyFile returns one of the id_container files for a download: name is
// "id_container", "id_container.pub" or "id_container.ppk". It is read as the account
// (keys.ReadUserKeyFileAs). A file there is none of is fs.ErrNotExist.
func (s *Server) UserKeyFile(name string) ([]byte, error) {
	var path string
	switch {
	case name == defaultIDFileName:
		path = s.userKey.PrivatePath
	case name == defaultIDFileName+".pub":
		path = s.userKey.PublicPath
	case name == defaultIDFileName+".ppk":
		path = s.userKey.PPKPath
	default:
		return nil, fmt.Errorf("key file %q: %w", name, fs.ErrNotExist)
	}
	if path == "" {
		return nil, fmt.Errorf("key file %s: none was made (see the start-up log): %w", name, fs.ErrNotExist)
	}
	groups := make([]int, len(s.account.Groups))
	for i, g := range s.account.Groups {
		groups[i] = int(g)
	}
	b, err := keys.ReadUserKeyFileAs(path, int(s.account.UID), int(s.account.GID), groups)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key file %s: %w", path, fs.ErrNotExist)
	}
	return b, err
}

// StateDir is the state directory as opened and checked at New (state_dir.go), for
// files of the agent's own such as the web token.
func (s *Server) StateDir() *os.Root { return s.stateDir.Root }

// StatusWeb is the web server as status.json reports it.
type StatusWeb struct {
	Addr      string `json:"addr"`       // host:port, or unix:/path
	Port      int    `json:"port"`       // 0 for a unix socket
	URL       string `json:"url"`        // the page, without the token
	TokenFile string `json:"token_file"` // "" when the token came from JOBSSHD_WEB_TOKEN
}

// SetWeb records the web server for status.json and the start-up text; call it before
// Listen.
func (s *Server) SetWeb(w StatusWeb) { s.web = &w }

// writeWebInfo adds the web server w (nil without --web) to the start-up text: the
// page's address and where the token is, never the token itself.
func writeWebInfo(b *strings.Builder, w *StatusWeb, user string) {
	if w == nil {
		return
	}
	fmt.Fprintf(b, "\nWeb terminal and SSH over WebSocket on %s:\n  open %s?token=TOKEN\n", w.Addr, w.URL)
	if w.TokenFile != "" {
		fmt.Fprintf(b, "  TOKEN is in %s (cat it as root)\n", w.TokenFile)
	} else {
		fmt.Fprintf(b, "  TOKEN is the value of JOBSSHD_WEB_TOKEN\n")
	}
	fmt.Fprintf(b, "  ssh -o ProxyCommand='jobsshd proxy --token-file FILE %sssh' %s@job\n", strings.Replace(w.URL, "http", "ws", 1), user)
}
