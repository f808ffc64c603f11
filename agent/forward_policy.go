package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
)

// forwardKind is what a forwarding request asks for, named by its SSH message.
type forwardKind string

const (
	forwardDirectTCP  forwardKind = "direct-tcpip"                    // ssh -L, -D (RFC 4254 §7.2)
	forwardRemoteTCP  forwardKind = "tcpip-forward"                   // ssh -R (RFC 4254 §7.1)
	forwardDirectUnix forwardKind = "direct-streamlocal@openssh.com"  // ssh -L port:/path
	forwardRemoteUnix forwardKind = "streamlocal-forward@openssh.com" // ssh -R /path:host:port
	forwardAuthAgent  forwardKind = "auth-agent-req@openssh.com"      // ssh -A
)

// forwardTarget is what a forwarding request would reach or expose: for TCP the host
// and port (the destination of direct-tcpip, the requested bind address of
// tcpip-forward), for unix sockets the path. ssh-agent forwarding has none.
type forwardTarget struct {
	host string
	port uint32
	path string
}

func (t forwardTarget) String() string {
	if t.path != "" {
		return t.path
	}
	if t.host == "" && t.port == 0 {
		return "-"
	}
	return net.JoinHostPort(t.host, strconv.FormatUint(uint64(t.port), 10))
}

// errProhibited marks a request the policy refuses, as opposed to one that failed: the
// client is told "administratively prohibited" (RFC 4254 §5.1).
var errProhibited = errors.New("administratively prohibited")

// forwardRefusal is a refusal by permitForward: what was asked and which rule refused
// it. It wraps errProhibited without repeating it, since the client already prints
// "administratively prohibited" before the message.
type forwardRefusal struct {
	kind   forwardKind
	target forwardTarget
	why    string
}

func (r *forwardRefusal) Error() string {
	return fmt.Sprintf("%s %s: %s", r.kind, r.target, r.why)
}

func (r *forwardRefusal) Unwrap() error { return errProhibited }

// privilegedPortLimit is the first port anyone may listen on (IPPORT_RESERVED).
const privilegedPortLimit = 1024

// permitForward decides whether the connection granted g may forward kind to target;
// nil means yes. It is the one place forwarding policy lives: the server's flags, the
// privileged-port rule, and the logged-in key's restrictions (no-port-forwarding,
// no-agent-forwarding, restrict, permitopen=, permitlisten=, or a certificate without
// permit-port-forwarding / permit-agent-forwarding). A refusal is a *forwardRefusal,
// which wraps errProhibited and says which setting refused, for the log and the client.
func (s *Server) permitForward(g *grant, kind forwardKind, target forwardTarget) error {
	refuse := func(why string) error { return &forwardRefusal{kind, target, why} }
	var disabled, keyDisallows bool
	var setting, keyRule string
	switch kind {
	case forwardDirectTCP, forwardRemoteTCP:
		disabled, setting = s.cfg.DisableTCPForwarding, "TCP forwarding is disabled on this server (--allow-tcp-forwarding=false)"
		keyDisallows = g.noPortForwarding
	case forwardDirectUnix, forwardRemoteUnix:
		disabled, setting = s.cfg.DisableUnixForwarding, "unix socket forwarding is disabled on this server (--allow-unix-forwarding=false)"
		keyDisallows = g.noPortForwarding // as sshd: no-port-forwarding covers unix sockets too
	case forwardAuthAgent:
		disabled, setting = s.cfg.DisableAgentForwarding, "agent forwarding is disabled on this server (--allow-agent-forwarding=false)"
		keyDisallows = g.noAuthAgentForwarding
	default:
		return refuse("unknown kind of forwarding")
	}
	if disabled {
		return refuse(setting)
	}
	keyRule = "the key's authorized_keys options or certificate do not allow it"
	if keyDisallows {
		return refuse(keyRule + " (" + g.source + ")")
	}
	switch {
	case kind == forwardDirectTCP && s.jobTrust != nil && g.hasForcedCommand && g.forwardTargets.PermitOpen == nil:
		return refuse("while job trust is on, a key with a forced command may tunnel only to the targets its permitopen= option names (forward_job_guard.go) (" + g.source + ")")
	case kind == forwardDirectTCP && !g.forwardTargets.PermitsOpen(target.host, target.port):
		return refuse("not in the key's permitopen= list (" + g.source + ")")
	case kind == forwardRemoteTCP && !g.forwardTargets.PermitsListen(target.host, target.port):
		return refuse("not in the key's permitlisten= list (" + g.source + ")")
	}
	// As sshd's bind_permitted: only root may listen below 1024, whoever the agent runs
	// as (port 0 asks for a free, unprivileged one).
	if kind == forwardRemoteTCP && target.port != 0 && target.port < privilegedPortLimit && s.account.UID != 0 {
		return refuse(fmt.Sprintf("only root may listen on ports below %d", privilegedPortLimit))
	}
	return nil
}

// permitTerminal decides whether the connection granted g may have a pty: not when its
// key's options (no-pty, restrict) or its certificate (no permit-pty) say so. It sits
// beside permitForward so that everything a key may be refused after login is decided
// here.
func permitTerminal(g *grant) error {
	if g != nil && g.noPTY {
		return fmt.Errorf("terminal refused: the key's options or certificate do not allow one (%s)", g.source)
	}
	return nil
}

// permitForward is Server.permitForward for this connection's key, logging a refusal
// with the connection's logger.
func (c *connection) permitForward(kind forwardKind, target forwardTarget) error {
	err := c.srv.permitForward(grantOf(c.conn.Permissions), kind, target)
	if err != nil {
		c.logNoise(noiseForward, slog.LevelInfo, "forwarding refused", "kind", string(kind), "target", clip(target.String(), logTextMax), "reason", clipErr(err))
	}
	return err
}
