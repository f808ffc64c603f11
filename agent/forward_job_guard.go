package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
)

// Job trust accepts the job key from the addresses of the job's hosts (auth_job.go).
// A direct-tcpip channel (ssh -L, -W, ProxyJump) leaves from this container, so a
// tunnel to this agent's own port, or to another worker's, arrives from a job host's
// address: a client holding a leaked job key and any key allowed to forward could
// log in with the job key from anywhere (issue 10, item 18), through
//
//	ssh -i JOBKEY -o ProxyCommand="ssh -i TUNNELKEY -W JOBHOST:PORT user@worker" ...
//
// The rule: while job trust is on, a connection whose key has a forced command
// (command=, a certificate's force-command, including "internal-sftp" and empty
// ones) tunnels only to the targets its permitopen= option names (permitForward):
// without such a list, no tunnel at all. Such a key was limited to what its forced
// command does, and a tunnel would have made it a job login. Checking the destination
// alone would not do: the receiving worker trusts the *source* address, and a path
// that keeps it (a Kubernetes ClusterIP Service in front of a worker, a hostPort, a
// port that differs from the agent's) reaches a job host's agent through an address
// that names no job host. With a permitopen= list, which the operator wrote, the
// tunnel still may not reach a job host's address, or any address of this container,
// on the job's SSH port (this agent's port: every worker listens on the same one,
// since job trust makes the port strict): the check below.
//
// A connection without a forced command keeps its tunnels, ProxyJump to another
// worker included (`ssh -J worker-0 worker-1`, VS Code on worker-1): it can already
// run any command as the account, including `ssh worker-1` with the job key the agent
// wrote into ~/.ssh, so refusing its tunnel would protect nothing and break the hop.
// The check is made on the address actually dialed (net.Dialer.Control), after name
// resolution, so a hostname that resolves to a job host cannot slip past it.
func (c *connection) jobHostGuard() func(network, address string, _ syscall.RawConn) error {
	s := c.srv
	g := grantOf(c.conn.Permissions)
	if s.jobTrust == nil || !g.hasForcedCommand {
		return nil
	}
	return s.jobHostGuardFor(c.ctx, func(msg string, args ...any) {
		c.logNoise(noiseForward, slog.LevelInfo, msg, args...)
	})
}

// jobHostGuardFor is the dial check of jobHostGuard, for a connection it applies to.
// logRefusal logs a refusal; the connection's is rate-limited (logNoise), since a
// client can ask again at will.
func (s *Server) jobHostGuardFor(ctx context.Context, logRefusal func(msg string, args ...any)) func(network, address string, _ syscall.RawConn) error {
	port := s.Port()
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("tunnel to %s: cannot tell whether it is a job host: %w", address, err)
		}
		if int(ap.Port()) != port {
			return nil
		}
		a := ap.Addr().Unmap().WithZone("")
		what := ""
		if ownAddress(a) {
			what = "an address of this container"
		} else if host, ok := s.jobTrust.HostOf(ctx, a); ok {
			what = "job host " + host
		}
		if what == "" {
			return nil
		}
		refusal := &forwardRefusal{forwardDirectTCP, forwardTarget{host: a.String(), port: uint32(port)},
			fmt.Sprintf("%s on the job's SSH port: a key with a forced command may not tunnel to a job host's SSH server, where the tunnel would count as that host", what)}
		logRefusal("forwarding refused", "kind", string(forwardDirectTCP), "target", address, "reason", refusal)
		return refusal
	}
}

// ownAddress reports whether a is an address of this container: loopback, unspecified
// (which connects to the local host) or an address of one of its interfaces.
func ownAddress(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // unknown: treat it as ours, which refuses only the job SSH port
	}
	for _, ia := range addrs {
		if p, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}
