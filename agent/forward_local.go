package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

// forwardDialTimeout bounds the connect of a forwarded connection. A target that drops
// SYNs would otherwise hold the client's channel open for the kernel's two minutes;
// OpenSSH's client waits ConnectTimeout, typically about 10 seconds, for its own connects.
const forwardDialTimeout = 10 * time.Second

// directTCPIPMsg is the extra data of a "direct-tcpip" channel open, RFC 4254 §7.2.
type directTCPIPMsg struct {
	DestHost   string
	DestPort   uint32
	OriginHost string
	OriginPort uint32
}

// handleDirectTCPIP serves a "direct-tcpip" channel (ssh -L, and -D, whose SOCKS proxy
// runs in the client): it connects to the destination from inside the container and
// joins the channel to that connection. A destination that cannot be reached is an
// open failure with the reason (RFC 4254 §5.1), as OpenSSH's "connect failed".
func (c *connection) handleDirectTCPIP(nc ssh.NewChannel) {
	var msg directTCPIPMsg
	if err := ssh.Unmarshal(nc.ExtraData(), &msg); err != nil {
		c.rejectForward(nc, fmt.Errorf("parse direct-tcpip request: %w", err))
		return
	}
	if err := checkForwardHost(forwardDirectTCP, msg.DestHost); err != nil {
		c.rejectForward(nc, err)
		return
	}
	target := forwardTarget{host: msg.DestHost, port: msg.DestPort}
	if err := c.permitForward(forwardDirectTCP, target); err != nil {
		c.rejectForward(nc, err)
		return
	}
	if msg.DestHost == "" || msg.DestPort == 0 || msg.DestPort > 65535 {
		c.rejectForward(nc, fmt.Errorf("connect to %s: not a host and port", target))
		return
	}
	addr := net.JoinHostPort(msg.DestHost, strconv.FormatUint(uint64(msg.DestPort), 10))
	// The socket is made as the account, so that rules keyed on the owner of a socket
	// (iptables -m owner, e.g. a job user kept off the metadata service) apply to the
	// user's tunnels as to the user's own programs. FallbackDelay < 0 keeps the dial in
	// this goroutine (no parallel Happy Eyeballs attempt on another, unswitched thread).
	var conn net.Conn
	err := c.srv.asAccount(func() error {
		d := net.Dialer{Timeout: forwardDialTimeout, FallbackDelay: -1, Control: c.jobHostGuard()}
		var err error
		conn, err = d.DialContext(c.ctx, "tcp", addr)
		return err
	})
	if err != nil {
		c.rejectForward(nc, fmt.Errorf("connect to %s: %w", addr, dialReason(err)))
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		conn.Close()
		c.log.Debug("accept direct-tcpip channel", "err", err)
		return
	}
	// The originator is what the client says the connection came from on its side.
	c.forward(ch, reqs, conn.(*net.TCPConn), string(forwardDirectTCP), addr,
		net.JoinHostPort(msg.OriginHost, strconv.FormatUint(uint64(msg.OriginPort), 10)))
}

// rejectForward refuses a forwarding channel with err as the reason the client shows:
// "administratively prohibited" for a policy refusal, "connect failed" otherwise
// (RFC 4254 §5.1).
func (c *connection) rejectForward(nc ssh.NewChannel, err error) {
	reason := ssh.ConnectionFailed
	if errors.Is(err, errProhibited) {
		reason = ssh.Prohibited // already logged by permitForward
	} else {
		c.logNoise(noiseForward, slog.LevelInfo, "forwarding failed", "kind", nc.ChannelType(), "err", clipErr(err))
	}
	if rerr := nc.Reject(reason, err.Error()); rerr != nil {
		c.log.Debug("reject channel", "type", nc.ChannelType(), "err", rerr)
	}
}

// dialReason is the part of a dial error worth showing: "connect: connection refused"
// rather than net's "dial tcp 127.0.0.1:1: connect: connection refused", which repeats
// the address the message already names.
func dialReason(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
