package agent

import (
	"io"
	"log/slog"
	"net/netip"
	"time"

	"jobsshd/internal/account"
	"jobsshd/jobtrust"
)

// Config is everything the agent needs to serve. The zero value of each field means the
// default noted beside it; New fills defaults into its own copy and never modifies the
// caller's.
type Config struct {
	User       string // account to serve; required (main resolves the default account)
	Port       int    // preferred port; 0 means a random free port
	StrictPort bool   // fail instead of falling back when Port is taken; job trust also makes it strict (PortPolicyFor)
	Bind       string // listen address; "" means all interfaces, IPv4 and IPv6
	StateDir   string // host keys and status.json; required
	IDFile     string // generated user key; "" means ~USER/id_container
	KeyType    string // id_container key type: "ed25519" (default) or "rsa"
	Version    string // reported in status.json and the SSH banner

	// AcceptEnv lists the client-sent variables a session accepts, as names or
	// prefixes ending in '*'. nil means LANG and LC_*.
	AcceptEnv []string

	// Forwarding policy, OpenSSH's AllowTcpForwarding, AllowStreamLocalForwarding,
	// AllowAgentForwarding and GatewayPorts. The zero value allows TCP (-L, -R, -D),
	// unix-socket and agent (-A) forwarding, and lets remote forwards listen on loopback
	// only.
	DisableTCPForwarding   bool // refuse direct-tcpip and tcpip-forward
	DisableUnixForwarding  bool // refuse direct-streamlocal and streamlocal-forward
	DisableAgentForwarding bool // refuse auth-agent-req
	// GatewayPorts lets a remote forward listen on all interfaces when the client asks
	// for "" or "*" (or on the address it names), like OpenSSH's GatewayPorts
	// clientspecified; otherwise every remote forward listens on loopback.
	GatewayPorts bool

	// Key sources besides the account's ~/.ssh/authorized_keys, in the same format and
	// with the same options. AuthorizedKeysFiles are read like that file (as the account,
	// re-read when they change, refused when group- or world-writable): e.g. a file the
	// platform mounts. AuthorizedKeys holds key lines given inline (newline separated),
	// e.g. a key pasted in the job's settings.
	AuthorizedKeysFiles []string
	AuthorizedKeys      string
	// TrustedUserCAFiles hold CA public keys whose user certificates may log in when
	// they name the account as a principal (OpenSSH's TrustedUserCAKeys).
	TrustedUserCAFiles []string
	// PermitUserEnvironment applies the environment= options of authorized_keys lines.
	PermitUserEnvironment bool

	// Algorithms is the algorithm profile: AlgorithmsDefault ("" means it), which every
	// supported client can use, or AlgorithmsStrict (algorithms.go).
	Algorithms string

	// AllowCIDRs, when not empty, are the only client addresses served; others are
	// closed before the SSH handshake.
	AllowCIDRs []netip.Prefix

	// HandshakeTimeout bounds the time from TCP accept to a logged-in user
	// (OpenSSH's LoginGraceTime). 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	// MaxUnauthenticated bounds the connections that have not logged in yet (OpenSSH's
	// MaxStartups), so that a flood of idle or slow connections cannot exhaust memory
	// and descriptors: from half of it on, newcomers are refused at random, more often
	// the fuller it is (startups.go). 0 means DefaultMaxUnauthenticated.
	MaxUnauthenticated int
	// MaxUnauthenticatedPerSource bounds the connections not logged in yet from one
	// address (one /64 for IPv6). 0, the default, means no such bound: behind a
	// platform's relay every user has the relay's address.
	MaxUnauthenticatedPerSource int
	// MaxAuthTries bounds the refused authentication attempts of one connection, keys
	// only offered included, as OpenSSH counts them (auth_tries.go). 0 means
	// DefaultMaxAuthTries; a negative value, x/crypto's "unlimited", means no bound.
	MaxAuthTries int
	// MaxConnections bounds all connections at once, logged in or not. 0 means
	// DefaultMaxConnections.
	MaxConnections int
	// MaxSessions bounds the session channels open at once on one connection (OpenSSH's
	// MaxSessions; ssh -O multiplexing and VS Code open several). 0 means
	// DefaultMaxSessions.
	MaxSessions int
	// MaxChannels bounds the channels (sessions and forwarded connections) open at once
	// on all connections together: each can make the agent hold up to 2 MiB the client
	// sent (channel_budget.go). 0 means DefaultMaxChannels.
	MaxChannels int
	// ClientAliveInterval is how often a logged-in client is asked for a sign of life
	// (keepalive@openssh.com); after ClientAliveCountMax unanswered probes in a row the
	// connection is dropped, which hangs up its sessions. 0 means
	// DefaultClientAliveInterval, ClientAliveCountMax 0 DefaultClientAliveCountMax.
	// DisableClientAlive turns probes off (--client-alive-interval 0).
	ClientAliveInterval time.Duration
	ClientAliveCountMax int
	DisableClientAlive  bool

	// Now is the clock for key expiry and certificate validity; nil means time.Now.
	Now func() time.Time

	// Job trust (README "Distributed jobs", package jobtrust): the workers of one job
	// log in to each other with the job user key, accepted from the job's hosts only,
	// and serve the job host key. It is on, unless DisableJobTrust, when job hosts are
	// known (JobHosts, and the VC_*_HOSTS variables of Environ) and a job secret is:
	// JobSecret, JobKeyFile, or else Volcano's ssh plugin files in the account's ~/.ssh.
	DisableJobTrust bool
	JobHosts        []string          // job hosts besides VC_*_HOSTS (jobtrust.ParseHosts); nil means none
	JobKeyFile      string            // private key file every worker has; "" means none
	JobSecret       jobtrust.Secret   // secret every worker has (16 bytes or more); nil means none
	JobResolver     jobtrust.Resolver // resolves job hostnames; nil means the system resolver

	// StatusRefresh is the least time between two writes of status.json's live figures
	// (live_status.go); zero means DefaultStatusRefresh.
	StatusRefresh time.Duration

	Logger        *slog.Logger       // nil means discard
	ConnectInfo   io.Writer          // where the "how to connect" text goes (also from another goroutine, host_keys_later.go); nil means none
	LookupAccount account.LookupFunc // nil means account.Lookup (/etc/passwd)
	// Environ is the container environment sessions inherit; nil means the agent's own
	// environment merged over PID 1's (see environ.Container).
	Environ []string
}

// The defaults of Config's zero fields, defined once: withDefaults fills them in, and
// the serve flags (flags_access.go) start from them and show them in their help.
const (
	DefaultHandshakeTimeout    = 30 * time.Second
	DefaultMaxUnauthenticated  = 64
	DefaultMaxAuthTries        = 6
	DefaultMaxConnections      = 256
	DefaultMaxSessions         = 64
	DefaultMaxChannels         = 1024 // channel_budget.go has the numbers
	DefaultClientAliveInterval = 60 * time.Second
	DefaultClientAliveCountMax = 3
	DefaultKeyType             = "ed25519"
	DefaultStatusRefresh       = 5 * time.Second // live_status.go says why
	defaultIDFileName          = "id_container"
)

// withDefaults returns c with each zero field that has a default set to it.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LookupAccount == nil {
		c.LookupAccount = account.Lookup
	}
	if c.AcceptEnv == nil {
		c.AcceptEnv = []string{"LANG", "LC_*"}
	}
	if c.MaxUnauthenticated == 0 {
		c.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if c.MaxAuthTries == 0 {
		c.MaxAuthTries = DefaultMaxAuthTries
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxChannels == 0 {
		c.MaxChannels = DefaultMaxChannels
	}
	if c.ClientAliveInterval == 0 {
		c.ClientAliveInterval = DefaultClientAliveInterval
	}
	if c.ClientAliveCountMax == 0 {
		c.ClientAliveCountMax = DefaultClientAliveCountMax
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.KeyType == "" {
		c.KeyType = DefaultKeyType
	}
	if c.StatusRefresh == 0 {
		c.StatusRefresh = DefaultStatusRefresh
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}
