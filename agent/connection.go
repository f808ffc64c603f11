package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"
)

// connection is one logged-in SSH connection. It hands the client's channels and global
// requests to their handlers, owns the forwards they set up (listeners, the ssh-agent
// socket), and when the client leaves closes those and waits for every goroutine it
// started: sessions, forwarded channels, accept loops.
type connection struct {
	srv  *Server
	conn *ssh.ServerConn
	log  *slog.Logger
	// ctx is done once the client has gone, which stops dials still in progress.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// transportEnded, when set, is called once the client is gone (chans closed), before
	// the connection waits for what it started: from then on it no longer counts
	// against --max-connections (issue 10, item 3).
	transportEnded func()

	mu     sync.Mutex
	ending bool // set by endForwards: nothing new may be added
	// Remote forwards are the connection's own, keyed by what its client asked for and
	// got, so that no other connection can cancel them (gravitational/teleport#66892,
	// gliderlabs/ssh#167 keyed one shared map by the requested address).
	tcpForwards  map[tcpForwardKey]*remoteForward
	unixForwards map[string]*remoteForward // by socket path as requested
	authAgent    *authAgentSocket          // nil until a session asks for ssh-agent forwarding

	channels [2]int // open session and forwarding channels, bounded by channelLimit
	// inbound counts what the client sent and what the agent read of it
	// (channel_memory.go); nil in tests that build a connection by hand.
	inbound *inbound

	noise    noiseCounts // lines a client can repeat at will (log_noise.go)
	envBytes int         // client variables held by open sessions (session_bounds.go)
	cmdBytes int         // exec commands held by open sessions (command_bounds.go)

	closeWake atomic.Bool // a probe after a channel close is in flight (close_wake.go)
}

// Channel classes, each with its own bound: sessions (Config.MaxSessions) and channels
// the client opens to forward a connection (ssh -L, -D), which a SOCKS proxy may open
// by the hundred.
const (
	classSession = iota
	classForward
)

// maxForwardChannels bounds the forwarding channels one connection has open at once.
const maxForwardChannels = 1024

// maxRemoteForwards bounds the listeners (ssh -R, TCP and unix sockets) one connection
// may hold: each is a descriptor of the agent, which serves everyone.
const maxRemoteForwards = 64

// checkRemoteForwardRoom refuses a new remote forward when the connection holds
// maxRemoteForwards already, or the agent's descriptor budget has no room. Global requests are handled one at a time, so the count
// cannot grow between this check and the forward's registration.
func (c *connection) checkRemoteForwardRoom() error {
	c.mu.Lock()
	n := len(c.tcpForwards) + len(c.unixForwards)
	c.mu.Unlock()
	if n >= maxRemoteForwards {
		return fmt.Errorf("too many remote forwards on this connection (%d)", maxRemoteForwards)
	}
	if !c.srv.descriptors.room(classForward) { // each listener holds one (acceptForwarded)
		return errNoDescriptors
	}
	return nil
}

func newConnection(s *Server, conn *ssh.ServerConn, log *slog.Logger) *connection {
	ctx, cancel := context.WithCancel(context.Background())
	return &connection{
		srv: s, conn: conn, log: log, ctx: ctx, cancel: cancel,
		tcpForwards:  map[tcpForwardKey]*remoteForward{},
		unixForwards: map[string]*remoteForward{},
	}
}

// serve runs the connection until the client leaves (chans and reqs close when the
// transport ends) and everything it started has ended.
func (c *connection) serve(chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request) {
	c.spawn(func() { c.handleGlobalRequests(reqs) })
	if !c.srv.cfg.DisableClientAlive {
		c.spawn(c.probeClient)
	}
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			c.spawnChannel(nc, classSession, func(nc ssh.NewChannel, releaseChannel func()) { c.srv.handleSession(c, nc, releaseChannel) })
		case string(forwardDirectTCP):
			c.spawnChannel(nc, classForward, func(nc ssh.NewChannel, _ func()) { c.handleDirectTCPIP(nc) })
		case string(forwardDirectUnix):
			c.spawnChannel(nc, classForward, func(nc ssh.NewChannel, _ func()) { c.handleDirectStreamLocal(nc) })
		default:
			c.logNoise(noiseChannel, slog.LevelInfo, "refused channel", "event", "channel.refuse", "type", clip(nc.ChannelType(), logNameMax))
			_ = nc.Reject(ssh.UnknownChannelType, fmt.Sprintf("channel type %q is not supported", nc.ChannelType()))
		}
	}
	if c.transportEnded != nil {
		c.transportEnded()
	}
	if c.inbound != nil {
		c.inbound.discardUnread() // channel_memory.go
	}
	c.cancel()
	c.endForwards()
	c.wg.Wait()
}

// spawn runs fn in a goroutine the connection waits for. Only the connection's own
// goroutines call it, while they are counted, so Add never races with Wait at zero.
func (c *connection) spawn(fn func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// spawnChannel serves a new channel of class with fn unless the connection already has
// as many of that class open as allowed, or the agent as many channels as
// --max-channels allows (channel_budget.go), in which case the channel is refused with
// the reason (RFC 4254 §5.1 resource shortage), which OpenSSH shows to the user. fn gets
// nc wrapped so that what it reads counts as read (channel_memory.go).
func (c *connection) spawnChannel(nc ssh.NewChannel, class int, fn func(nc ssh.NewChannel, releaseChannel func())) {
	limit := maxForwardChannels
	what := "forwarded connections"
	if class == classSession {
		limit, what = c.srv.cfg.MaxSessions, "sessions"
	}
	c.mu.Lock()
	held := c.channels[classSession] + c.channels[classForward]
	full := c.channels[class] >= limit
	if !full {
		c.channels[class]++
	}
	c.mu.Unlock()
	msg := fmt.Sprintf("too many %s on this connection (%d)", what, limit)
	if !full {
		// channel_budget.go: the memory all connections' channels can pin.
		if !c.srv.channels.acquire(held) {
			full, msg = true, errNoChannels(c.srv.cfg.MaxChannels).Error()
		} else if !c.srv.descriptors.acquire(class) {
			c.srv.channels.release()
			full, msg = true, errNoDescriptors.Error()
		}
		if full {
			c.mu.Lock()
			c.channels[class]--
			c.mu.Unlock()
		}
	}
	if full {
		c.logNoise(noiseChannel, slog.LevelWarn, "channel refused: "+msg, "event", "channel.refuse", "type", nc.ChannelType())
		_ = nc.Reject(ssh.ResourceShortage, msg)
		return
	}
	if c.inbound != nil {
		nc = countedNewChannel{NewChannel: nc, in: c.inbound}
	}
	nc = activeNewChannel{NewChannel: nc, live: c.srv.live} // live_status.go
	// fn may give the channel's place in --max-channels back early (releaseChannel), once
	// the channel is closed and nothing it buffered is held any more: a session whose
	// program ignores the hangup lingers after its channel (lingering.go).
	releaseChannel := sync.OnceFunc(c.srv.channels.release)
	c.spawn(func() {
		defer func() {
			c.mu.Lock()
			c.channels[class]--
			c.mu.Unlock()
			c.srv.descriptors.release(class)
			releaseChannel()
		}()
		fn(nc, releaseChannel)
	})
}

var errUnsupportedRequest = errors.New("request not supported")

// handleGlobalRequests answers the connection's global requests (RFC 4254 §4) in
// order. Each is quick (a bind at most): x/crypto queues only 16 of them, and a full
// queue stalls every channel of the connection.
func (c *connection) handleGlobalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		var reply []byte
		var err error
		switch req.Type {
		case string(forwardRemoteTCP):
			reply, err = c.remoteTCPForward(req.Payload)
		case "cancel-tcpip-forward":
			err = c.cancelRemoteTCPForward(req.Payload)
		case string(forwardRemoteUnix):
			err = c.remoteStreamLocalForward(req.Payload)
		case "cancel-streamlocal-forward@openssh.com":
			err = c.cancelRemoteStreamLocalForward(req.Payload)
		default:
			// keepalive@openssh.com, no-more-sessions@openssh.com, hostkeys-*: a
			// request the server does not know gets a failure (RFC 4254 §4).
			err = errUnsupportedRequest
		}
		switch {
		case errors.Is(err, errUnsupportedRequest):
			c.logNoise(noiseRequest, slog.LevelDebug, "refused global request", "type", clip(req.Type, logNameMax))
		case errors.Is(err, errProhibited):
			// logged by permitForward
		case err != nil:
			c.logNoise(noiseForward, slog.LevelInfo, "global request failed", "type", req.Type, "err", clipErr(err))
		}
		if req.WantReply {
			if rerr := req.Reply(err == nil, reply); rerr != nil {
				c.log.Debug("reply to global request", "type", clip(req.Type, logNameMax), "err", rerr)
			}
		}
	}
}

// endForwards closes every listener the connection opened and removes the unix sockets
// it created. Connections already forwarded end with their channels, which the
// transport's end closes.
func (c *connection) endForwards() {
	c.mu.Lock()
	c.ending = true
	var ends []*remoteForward
	for _, f := range c.tcpForwards {
		ends = append(ends, f)
	}
	for _, f := range c.unixForwards {
		ends = append(ends, f)
	}
	clear(c.tcpForwards)
	clear(c.unixForwards)
	authAgent := c.authAgent
	c.authAgent = nil
	c.mu.Unlock()
	for _, f := range ends {
		f.close()
	}
	if authAgent != nil {
		authAgent.close()
	}
}
