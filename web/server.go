package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"jobsshd/internal/loglimit"
)

// HTTP bounds: a client that trickles its request head or idles between requests is
// cut; WebSocket connections are hijacked and bounded by their own handlers (the
// hijack clears the deadlines these set).
//
// readTimeout bounds the whole request, body included: no route takes a body, but
// after refusing one net/http reads up to 256 KiB of it to keep the connection, with
// no deadline but this one, so a stranger sending "Content-Length: 100000" and then
// nothing would hold a connection (one of maxHTTPConnections) for ever. writeTimeout
// bounds an answer to a client that stops reading it.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Server is the agent's web server. Create it with New, then Listen and Serve;
// Shutdown stops it.
type Server struct {
	cfg      Config
	log      *slog.Logger
	token    token
	failures *failureLimiter
	refusals loglimit.Limiter // web.refuse lines
	// allowedOrigins is Config.AllowedOrigins, parsed (origin.go).
	allowedOrigins []origin
	http           *http.Server
	tlsConfig      *tls.Config
	ln             net.Listener
	// onUnixSocket: --web unix:/path, whose peer is a sidecar (client_addr.go).
	onUnixSocket bool
	maxConns     int64 // maxHTTPConnections; tests lower it (conn_limit.go)
	// maxConnsPerSource is maxConnectionsPerSource; tests lower it.
	maxConnsPerSource int
	terminals         *terminals     // nil without Config.Terminals (terminal_registry.go)
	sshConns          sync.WaitGroup // the goroutines serving /ssh connections (ssh.go)
}

// New checks the configuration and loads (or generates) the token. It does not
// listen yet.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Agent == nil {
		return nil, errors.New("web: no agent to serve")
	}
	network, _, err := splitAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "web"), failures: newFailureLimiter(cfg.Now), refusals: loglimit.Limiter{Now: cfg.Now}, onUnixSocket: network == "unix", maxConns: maxHTTPConnections, maxConnsPerSource: maxConnectionsPerSource}
	tok, err := loadToken(cfg)
	if err != nil {
		return nil, err
	}
	s.token = tok
	if s.allowedOrigins, err = parseAllowedOrigins(cfg.AllowedOrigins); err != nil {
		return nil, err
	}
	if cfg.Terminals != nil {
		s.terminals = newTerminals(cfg.Terminals.StartTerminal, cfg.Reconnect, s.log)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--web-tls-cert and --web-tls-key go together: pass both, or neither for plain HTTP")
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --web-tls-cert %q and --web-tls-key %q: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         s.tlsConfig,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// splitAddr splits --web into a network and an address: "unix:/path" or "host:port".
func splitAddr(addr string) (network, address string, err error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		if !strings.HasPrefix(p, "/") {
			return "", "", fmt.Errorf("--web %q: a unix socket needs an absolute path, e.g. unix:/run/jobsshd/web.sock", addr)
		}
		return "unix", p, nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", "", fmt.Errorf("--web %q: use host:port (e.g. 0.0.0.0:8022 or :8022) or unix:/path", addr)
	}
	return "tcp", addr, nil
}

// Listen opens the listener. A unix socket left by an earlier run is replaced; the new
// one is made 0660 so that only its owner and group (the sidecar) can connect.
func (s *Server) Listen() error {
	network, address, _ := splitAddr(s.cfg.Addr)
	if network == "unix" {
		if fi, err := os.Lstat(address); err == nil && fi.Mode().Type() == os.ModeSocket {
			_ = os.Remove(address) // a stale socket of an earlier run; Listen reports a live one
		}
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w (check --web)", s.cfg.Addr, err)
	}
	if network == "unix" {
		if err := chmodSocket(address); err != nil {
			ln.Close()
			return fmt.Errorf("web: chmod %s: %w", address, err)
		}
	}
	s.ln = &limitListener{Listener: ln, max: s.maxConns, perSource: s.maxConnsPerSource, exempt: s.trustedProxy, log: s.log, refusals: &s.refusals}
	s.log.Info("web listening", "addr", s.Addr(), "tls", s.tlsConfig != nil, "token_file", s.token.file)
	return nil
}

// Addr is the address listened on ("unix:/path" for a socket), once Listen succeeded.
func (s *Server) Addr() string {
	if a, ok := s.ln.Addr().(*net.UnixAddr); ok {
		return "unix:" + a.Name
	}
	return s.ln.Addr().String()
}

// Port is the TCP port listened on; 0 for a unix socket.
func (s *Server) Port() int {
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// TokenFile is the file holding the token; "" when it came from JOBSSHD_WEB_TOKEN.
func (s *Server) TokenFile() string { return s.token.file }

// URL is the address of the page for a person to open, without the token: on the
// listener's own IP when it has a specific one, else on host.
func (s *Server) URL(host string) string {
	scheme := "http"
	if s.tlsConfig != nil {
		scheme = "https"
	}
	if s.Port() == 0 {
		return scheme + "://<your ingress>/"
	}
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
		host = a.IP.String()
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(s.Port())) + "/"
}

// Serve serves HTTP on the listener until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve() error {
	var err error
	if s.tlsConfig != nil {
		err = s.http.ServeTLS(s.ln, "", "")
	} else {
		err = s.http.Serve(s.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("web: serve on %s: %w", s.Addr(), err)
}

// Shutdown stops accepting requests and waits, until ctx is done, for those in
// progress and for the goroutines of /ssh connections. An /ssh connection belongs to
// the SSH server from the upgrade on and ends with its Shutdown, so call this one
// after the SSH server's.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if s.terminals != nil {
		// The browsers' shells are hung up like the SSH server's sessions.
		err = errors.Join(err, s.terminals.shutdown(ctx))
	}
	sshDone := make(chan struct{})
	go func() { s.sshConns.Wait(); close(sshDone) }()
	select {
	case <-sshDone:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("/ssh connections still open: %w", ctx.Err()))
	}
	return err
}
