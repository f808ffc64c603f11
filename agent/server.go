package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"jobsshd/internal/account"
	"jobsshd/internal/statedir"
	"jobsshd/jobtrust"
	"jobsshd/keys"
)

// ConfigError is a problem with the configuration (exit code 2), as opposed to a
// failure while running (exit code 1).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Server serves one account over SSH. Create it with New, then call Listen and Serve;
// Shutdown stops it.
type Server struct {
	cfg        Config
	log        *slog.Logger
	account    *account.Account
	credential *syscall.Credential // the account's, when the agent must switch to it
	environ    []string            // the container environment sessions start from
	port       PortPolicy          // where Listen listens
	selfExe    string              // this binary, which serves sftp-server and scp
	hostKeys   []ssh.Signer        // guarded by mu once Listen returned: more may be added (host_keys_later.go)
	userKey    *keys.UserKey
	jobTrust   *jobtrust.Trust                  // nil when job trust is off
	jobKeyFile string                           // the job key file the ssh client uses, when there is one
	sshConfig  atomic.Pointer[ssh.ServerConfig] // replaced when a host key is added
	algorithms ssh.Config                       // the plan's algorithm profile, for sshConfig
	keysLater  hostKeysLater                    // host_keys_later.go
	startedAt  time.Time

	stateDir  *statedir.Dir     // the state directory as opened and checked (state_dir.go)
	userKeyID *keys.UserKeyFile // id_container as logins see it, re-read when it changes (user_key.go)

	authorizedKeysPath string
	keySources         []keySource // ~/.ssh/authorized_keys first, then --authorized-keys, then inline keys
	userCAs            caSet       // replaced by Reload
	now                func() time.Time

	// copyBuffers holds the buffers of every session's and forward's copy loops
	// (copy_buffer.go): a SOCKS proxy or a loop of `ssh host cmd` opens many.
	copyBuffers copyPools

	startups *startups     // the connections not logged in yet (startups.go)
	refusing chan struct{} // one token per connection being told why it is refused
	refusals logLimiter    // connection.refuse lines
	limits   logLimits     // the other lines a client can make the agent write at will
	// descriptors bounds what all connections' channels and forwards hold
	// (descriptors.go).
	descriptors *descriptorBudget
	// channels bounds the channels open on all connections, and so the memory their
	// receive windows can pin (channel_budget.go).
	channels *channelBudget
	memory   *memoryGuard // channel_memory.go
	// webTerminals counts the browsers' shells (web_terminal.go).
	webTerminals webTerminalCount

	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{} // every connection still served, for Shutdown
	// open are the connections whose transport is still up: what --max-connections
	// counts. A connection leaves it when its client is gone, even while a program it
	// started ignores the hangup and keeps its session waiting (lingering.go).
	open     map[net.Conn]struct{}
	shutdown bool
	connWG   sync.WaitGroup

	accepting atomic.Bool // Serve's loop runs and is not backing off (web_bridge.go)
	web       *StatusWeb  // the web server, when there is one (web_bridge.go)

	live        *liveStatus // status.json's live figures (live_status.go)
	liveStarted bool        // Listen started live.run; guarded by mu
	statusBase  statusBase  // status.json without its live figures, once Listen wrote it (host_keys_later.go)
}

// New resolves cfg (Resolve, which changes nothing) and acts on the plan: it opens (or
// creates) the state directory, loads (or creates) the host keys and the id_container
// key, and builds the SSH configuration. It does not listen yet.
func New(cfg Config) (*Server, error) {
	p, err := Resolve(cfg, os.Geteuid())
	if err != nil {
		return nil, err
	}
	return newServer(p)
}

// newServer is the step of New that acts on the plan p.
func newServer(p *Plan) (*Server, error) {
	cfg := p.Config
	s := &Server{cfg: cfg, log: cfg.Logger, account: p.Account, credential: p.Credential, environ: p.Environ, port: p.Port,
		conns: map[net.Conn]struct{}{}, open: map[net.Conn]struct{}{}, startedAt: time.Now(),
		startups: newStartups(cfg.MaxUnauthenticated, cfg.MaxUnauthenticatedPerSource), refusing: make(chan struct{}, maxRefusing),
		now: cfg.Now, live: newLiveStatus(cfg.StatusRefresh, cfg.Now)}
	if note := p.Account.Unlisted; note != "" {
		s.log.Info("account not in /etc/passwd: " + note) // internal/account/unlisted.go
	}
	if note := p.Account.HomeNote; note != "" {
		s.log.Info("home: " + note) // internal/account/usable_home.go
	}
	descriptors, err := newDescriptorBudget(cfg, s.log)
	if err != nil {
		return nil, err
	}
	s.descriptors = descriptors
	s.channels = newChannelBudget(cfg.MaxChannels)
	s.memory = newMemoryGuard(cfg.MaxChannels)
	if s.selfExe, err = s.selfExecutable(); err != nil {
		return nil, err
	}
	s.startJobTrust(p.JobTrust, p.Port)
	if err := s.openStateDir(); err != nil {
		return nil, err
	}
	if err := s.loadHostKeys(); err != nil {
		return nil, err
	}
	if err := s.setupUserKey(p.IDFile); err != nil {
		return nil, err
	}
	s.setKeySources(p)
	cas := make([]trustedCA, len(p.TrustedCAs))
	for i, ca := range p.TrustedCAs {
		cas[i] = trustedCA{key: ca.Key, source: ca.Source}
	}
	s.userCAs.set(cas)
	s.algorithms = p.Algorithms
	s.sshConfig.Store(s.newSSHConfig())
	return s, nil
}

// loadHostKeys loads (or creates) the host keys in the state directory; under job trust
// the job host key replaces the ed25519 one.
func (s *Server) loadHostKeys() error {
	hostKeys, later, err := keys.HostKeysReady(s.stateDir.Root) // the rest: host_keys_later.go
	if err != nil {
		return fmt.Errorf("host keys: %w", statedir.ReadOnlyAdvice(err))
	}
	s.keysLater.files = later
	s.removeStatus()
	for _, k := range hostKeys {
		if s.jobTrust != nil && k.PublicKey().Type() == ssh.KeyAlgoED25519 {
			// Every worker of the job serves the job host key, which the workers'
			// known_hosts hold; the RSA key stays for clients without ed25519.
			k = s.jobTrust.HostKey
		}
		signer, err := hostKeySigner(k)
		if err != nil {
			return fmt.Errorf("host key %s: %w", k.PublicKey().Type(), err)
		}
		s.hostKeys = append(s.hostKeys, signer)
	}
	return nil
}

// setKeySources sets up the plan's key sources: the authorized_keys files, read as the
// account at each login, then the inline key lines.
func (s *Server) setKeySources(p *Plan) {
	acct := p.Account
	s.authorizedKeysPath = p.AuthorizedKeysFiles[0]
	for _, path := range p.AuthorizedKeysFiles {
		s.keySources = append(s.keySources, keys.NewAuthorizedKeysFile(path, int(acct.UID), acct.GroupIDs(), acct.Home, s.log))
	}
	if p.Config.AuthorizedKeys != "" {
		for _, le := range p.InlineKeyErrors {
			s.log.Warn("authorized key line ignored", "source", le.Source, "line", le.Line, "err", le.Err)
		}
		s.keySources = append(s.keySources, inlineKeys{keys: p.InlineKeys, rejected: p.InlineKeyErrors})
	}
}

func (s *Server) newSSHConfig() *ssh.ServerConfig {
	c := &ssh.ServerConfig{
		Config:                  s.algorithms,
		PublicKeyAuthAlgorithms: slices.Clone(publicKeyAuthAlgorithms),
		PublicKeyCallback:       s.authenticate,
		MaxAuthTries:            s.cfg.MaxAuthTries,
		ServerVersion:           "SSH-2.0-jobsshd_" + s.cfg.Version,
	}
	for _, k := range s.hostKeys {
		c.AddHostKey(k)
	}
	return c
}

// Serve accepts connections on the listener Listen opened until Shutdown. It returns nil
// after Shutdown, or the accept error that stopped it.
func (s *Server) Serve() error {
	s.accepting.Store(true)
	defer s.accepting.Store(false)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			down := s.shutdown
			s.mu.Unlock()
			if down {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				s.log.Warn("accept", "err", err) // out of descriptors: back off, do not spin
				s.accepting.Store(false)
				time.Sleep(100 * time.Millisecond)
				s.accepting.Store(true)
				continue
			}
			return fmt.Errorf("accept on %s: %w", s.ln.Addr(), err)
		}
		if !s.track(c) {
			c.Close()
			continue
		}
		go func() {
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.conns[c] = struct{}{}
	s.open[c] = struct{}{}
	s.connWG.Add(1)
	return true
}

// transportEnded stops counting c against --max-connections: its client is gone.
func (s *Server) transportEnded(c net.Conn) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.open, c)
	s.mu.Unlock()
	s.connWG.Done()
}

// Shutdown stops accepting, lets open connections finish until ctx is done, then closes
// them and waits for their sessions to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	if s.ln != nil {
		s.ln.Close()
		s.live.halt(s.liveStarted) // no rewrite after the removal below
		s.removeStatus()
	}
	s.mu.Unlock()
	s.stopHostKeysLater() // host_keys_later.go
	idle := make(chan struct{})
	go func() { s.connWG.Wait(); close(idle) }()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	// Closing a connection hangs up its programs, and their sessions end when they
	// exit. A program that ignores SIGHUP (nohup as the command itself) keeps its
	// session waiting; Shutdown does not wait for it beyond this.
	select {
	case <-idle:
	case <-time.After(shutdownHangupWait):
		s.log.Warn("sessions still running after hangup; leaving them", "wait", shutdownHangupWait)
	}
	return ctx.Err()
}

// shutdownHangupWait is how long Shutdown waits, once it closed the connections, for
// their programs to exit.
const shutdownHangupWait = 2 * time.Second

// InlineKeysVariable is the environment variable through which a platform passes
// authorized_keys lines inline (Config.AuthorizedKeys); logs name those lines by it.
const InlineKeysVariable = "JOBSSHD_AUTHORIZED_KEYS"

// serveConn runs one connection: source and limit checks, handshake and authentication
// within the grace time, then its channels and requests until the client leaves (see
// connection).
func (s *Server) serveConn(c net.Conn) {
	start := time.Now()
	log := s.log.With("remote", c.RemoteAddr().String())
	// Refusals are logged as connection.refuse, at most logBurst a second (a flood costs
	// its sender nothing and must not fill the disk); a connection that gets past them is
	// logged as connection.open and, when it ends, connection.close, rate-limited in the
	// same way until it has logged in (log_limit.go).
	if !s.allowedSource(remoteAddr(c.RemoteAddr())) {
		s.logRefusal(log, "connection refused: source not in --allow-cidr")
		c.Close()
		return
	}
	if n := s.connectionCount() - s.startups.heldCount(); n > s.cfg.MaxConnections { // evicted ones are on their way out
		s.logRefusal(log, "connection refused: too many connections", "max", s.cfg.MaxConnections)
		s.refuseEarly(c, disconnectTooManyConnections, fmt.Sprintf("too many connections (%d), try again later", s.cfg.MaxConnections))
		return
	}
	place, full := s.startups.admit(c, remoteAddr(c.RemoteAddr()))
	if place == nil {
		s.logRefusal(log, "connection refused: "+full, "max", s.cfg.MaxUnauthenticated, "max_per_source", s.cfg.MaxUnauthenticatedPerSource)
		s.refuseEarly(c, disconnectTooManyConnections, full+", try again later")
		return
	}
	s.limits.open.Log(log, slog.LevelInfo, "connection opened", "event", "connection.open")
	qc, loggedIn := withQuickAck(c) // quickack_linux.go: no delayed ACKs until logged in
	bc := s.watchPreamble(qc, place, start)
	wc, in, unwatch := s.memory.watch(bc, func() { _ = c.Close() }, log) // channel_memory.go
	defer unwatch()
	conn, chans, reqs, err := ssh.NewServerConn(wc, s.authTries(s.sshConfig.Load())) // auth_tries.go
	loggedIn()
	s.startups.release(place)
	if err != nil && place.wasEvicted(s.startups) {
		err = fmt.Errorf("evicted: a newcomer took its place before it logged in (startups.go): %w", err)
	}
	if err != nil {
		c.Close()
		s.limits.loginRefused.Log(log, slog.LevelInfo, "login refused", "event", "connection.close",
			"reason", clip(refusalReason(err), logTextMax), "duration", time.Since(start))
		return
	}
	_ = c.SetDeadline(time.Time{})
	g := grantOf(conn.Permissions)
	log = log.With("user", clip(conn.User(), logNameMax))
	attrs := []any{"event", "auth.accept", "key", g.fingerprint, "key_source", g.source, "client", clip(string(conn.ClientVersion()), logNameMax)}
	if g.certificate != "" {
		attrs = append(attrs, "certificate", g.certificate)
	}
	log.Info("login", attrs...)
	s.live.add(&s.live.connections, 1)

	lc := newConnection(s, conn, log)
	lc.inbound = in
	lc.transportEnded = func() { s.transportEnded(c); s.live.add(&s.live.connections, -1) }
	lc.serve(chans, reqs)
	_ = conn.Close() // already closed by the client in the usual case
	log.Info("connection closed", append([]any{"event", "connection.close", "duration", time.Since(start)}, lc.noiseAttrs()...)...)
}

// allowedSource applies --allow-cidr.
func (s *Server) allowedSource(a netip.Addr) bool {
	if len(s.cfg.AllowCIDRs) == 0 {
		return true
	}
	for _, p := range s.cfg.AllowCIDRs {
		if a.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// connectionCount is the number of connections whose transport is up, logged in or not.
func (s *Server) connectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}
