package web

import (
	"log/slog"
	"net/netip"
	"os"
	"time"
)

// Config is everything the web server needs. Zero values mean the defaults noted.
type Config struct {
	// Addr is where to listen: "host:port" or "unix:/path" (for a proxy sidecar).
	// Required.
	Addr string
	// TokenFile names a file holding the token (--web-token-file); Token is the token
	// itself (JOBSSHD_WEB_TOKEN). At most one is set; with neither, a token is
	// generated into StateDir (token.go).
	TokenFile string
	Token     string
	// StateDir is the agent's opened state directory (internal/statedir), where a
	// generated token is kept; StateDirPath is its path, for messages and status.json.
	StateDir     *os.Root
	StateDirPath string
	// AllowedOrigins are the Origin values (scheme://host[:port]) WebSocket upgrades
	// are accepted from besides the request's own host (--web-allowed-origin).
	AllowedOrigins []string
	// TLSCert and TLSKey, when both set, serve HTTPS (--web-tls-cert, --web-tls-key).
	TLSCert, TLSKey string
	// TrustedProxies are the peers whose X-Forwarded-For names the client's address
	// (--web-trusted-proxy; forwardedClient). Empty: the peer's address always.
	TrustedProxies []netip.Prefix
	// Reconnect is how long a /terminal shell outlives its dropped WebSocket
	// (--web-reconnect). 0 means 5 minutes.
	Reconnect time.Duration

	Agent     Agent     // required
	Terminals Terminals // nil: /terminal answers 501
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now
}

// DefaultReconnect is Config.Reconnect's default.
const DefaultReconnect = 5 * time.Minute

func (c Config) withDefaults() Config {
	if c.Reconnect == 0 {
		c.Reconnect = DefaultReconnect
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
