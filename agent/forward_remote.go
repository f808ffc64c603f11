package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// tcpForwardMsg is the payload of "tcpip-forward" and "cancel-tcpip-forward", RFC 4254
// §7.1.
type tcpForwardMsg struct {
	BindHost string
	BindPort uint32
}

// forwardedTCPIPMsg is the extra data of a "forwarded-tcpip" channel open, RFC 4254
// §7.2: the address as the client asked for it and the port bound, so that the client
// can match the channel to its forward (OpenSSH and x/crypto both match on these).
type forwardedTCPIPMsg struct {
	BindHost   string
	BindPort   uint32
	OriginHost string
	OriginPort uint32
}

// tcpForwardKey names a remote TCP forward of one connection: the address as requested
// and the port actually bound, which is what cancel-tcpip-forward sends back.
type tcpForwardKey struct {
	host string
	port uint32
}

// remoteForward is one remote forward: its listeners (one per address family for
// "localhost"), and for a unix socket the removal of the socket file.
type remoteForward struct {
	listeners []net.Listener
	remove    func() // nil for TCP
	once      sync.Once
}

// close stops accepting; connections already forwarded go on, as in OpenSSH.
func (f *remoteForward) close() {
	f.once.Do(func() {
		for _, ln := range f.listeners {
			ln.Close()
		}
		if f.remove != nil {
			f.remove()
		}
	})
}

// bindAddresses is where a remote forward requested on host listens, following sshd's
// channel_fwd_bind_addr (openssh-portable channels.c). Without gateway ports every
// forward listens on loopback, whatever the client asked for, except that an explicit
// 127.0.0.1 or ::1 keeps only that family. With gateway ports (sshd's GatewayPorts
// clientspecified), "" and "*" mean all interfaces, "localhost" loopback, and any other
// address is taken as given. "localhost" is both families: OpenSSH's client asks for it
// by default, and net.Listen on "localhost" would bind one family only (net.Listen's
// documentation: a host name gives a listener for at most one of its addresses;
// gliderlabs/ssh's ForwardedTCPHandler, tcpip.go, passes the requested host to it as is).
func bindAddresses(host string, gatewayPorts bool) []string {
	loopback := []string{"127.0.0.1", "::1"}
	if !gatewayPorts {
		if host == "127.0.0.1" || host == "::1" {
			return []string{host}
		}
		return loopback
	}
	switch host {
	case "", "*":
		return []string{"0.0.0.0", "::"}
	case "localhost":
		return loopback
	}
	return []string{host}
}

// bindRetries is how often a port-0 forward tries for a port free in every family it
// listens on: the port the first family got may be taken in the second.
const bindRetries = 5

// listenTCP listens on port (0: any free one, the same in every family) at every
// address. An address that cannot be used at all, such as ::1 in a container without
// IPv6, is left out as long as another one works; a port in use anywhere fails the whole
// forward, so that a client never half-shares a port with another program.
func listenTCP(addrs []string, port uint32) ([]net.Listener, uint32, error) {
	for attempt := 1; ; attempt++ {
		lns, bound, err := listenTCPOnce(addrs, port)
		if err == nil || port != 0 || attempt == bindRetries || !errors.Is(err, syscall.EADDRINUSE) {
			return lns, bound, err
		}
	}
}

func listenTCPOnce(addrs []string, port uint32) ([]net.Listener, uint32, error) {
	var lns []net.Listener
	var skipped []error
	for _, host := range addrs {
		network := "tcp" // a name: net.Listen picks its first address
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		} else if err == nil {
			network = "tcp6" // IPv6-only, so that "::" does not clash with "0.0.0.0"
		}
		addr := net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10))
		ln, err := net.Listen(network, addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			closeListeners(lns)
			return nil, 0, fmt.Errorf("listen on %s: %w", addr, err)
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("listen on %s: %w", addr, err))
			continue
		}
		lns = append(lns, ln)
		port = uint32(ln.Addr().(*net.TCPAddr).Port)
	}
	if len(lns) == 0 {
		return nil, 0, errors.Join(skipped...)
	}
	return lns, port, nil
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// remoteTCPForward serves "tcpip-forward" (ssh -R): it listens where bindAddresses says
// and opens a "forwarded-tcpip" channel to the client for each connection accepted. The
// reply carries the bound port when the client asked for port 0 (RFC 4254 §7.1).
func (c *connection) remoteTCPForward(payload []byte) ([]byte, error) {
	var msg tcpForwardMsg
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return nil, fmt.Errorf("parse tcpip-forward request: %w", err)
	}
	if err := checkForwardHost(forwardRemoteTCP, msg.BindHost); err != nil {
		return nil, err
	}
	target := forwardTarget{host: msg.BindHost, port: msg.BindPort}
	if err := c.permitForward(forwardRemoteTCP, target); err != nil {
		return nil, err
	}
	if msg.BindPort > 65535 {
		return nil, fmt.Errorf("tcpip-forward %s: port out of range", target)
	}
	if err := c.checkRemoteForwardRoom(); err != nil {
		return nil, fmt.Errorf("tcpip-forward %s: %w", target, err)
	}
	// Listening sockets are made as the account too: owner-based rules apply, and the
	// kernel applies its own privileged-port rule (ip_unprivileged_port_start) to the user.
	var lns []net.Listener
	var port uint32
	err := c.srv.asAccount(func() error {
		var err error
		lns, port, err = listenTCP(bindAddresses(msg.BindHost, c.srv.cfg.GatewayPorts), msg.BindPort)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tcpip-forward %s: %w", target, err)
	}
	f := &remoteForward{listeners: lns}
	key := tcpForwardKey{msg.BindHost, port}
	c.mu.Lock()
	_, taken := c.tcpForwards[key]
	if !c.ending && !taken {
		c.tcpForwards[key] = f
	}
	ending := c.ending
	c.mu.Unlock()
	if ending || taken {
		f.close()
		return nil, fmt.Errorf("tcpip-forward %s: connection closing or forward exists", target)
	}
	for _, ln := range lns {
		c.spawn(func() {
			c.acceptForwarded(ln, func(conn net.Conn) (string, []byte) {
				origin := conn.RemoteAddr().(*net.TCPAddr)
				return "forwarded-tcpip", ssh.Marshal(forwardedTCPIPMsg{
					BindHost: msg.BindHost, BindPort: port,
					OriginHost: origin.IP.String(), OriginPort: uint32(origin.Port),
				})
			})
		})
	}
	var addrs []string
	for _, ln := range lns {
		addrs = append(addrs, ln.Addr().String())
	}
	c.log.Info("remote forward", "requested", clip(target.String(), logTextMax), "listening", addrs)
	if msg.BindPort == 0 {
		return ssh.Marshal(struct{ Port uint32 }{port}), nil
	}
	return nil, nil
}

// cancelRemoteTCPForward serves "cancel-tcpip-forward": it stops one of this
// connection's forwards, named by the address it was requested with and its port.
func (c *connection) cancelRemoteTCPForward(payload []byte) error {
	var msg tcpForwardMsg
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return fmt.Errorf("parse cancel-tcpip-forward request: %w", err)
	}
	key := tcpForwardKey{msg.BindHost, msg.BindPort}
	c.mu.Lock()
	f, ok := c.tcpForwards[key]
	delete(c.tcpForwards, key)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("cancel-tcpip-forward %s: this connection has no such forward", clip(forwardTarget{host: msg.BindHost, port: msg.BindPort}.String(), logTextMax))
	}
	f.close()
	c.log.Info("remote forward cancelled", "requested", clip(forwardTarget{host: msg.BindHost, port: msg.BindPort}.String(), logTextMax))
	return nil
}

// acceptBackoff is the pause after an accept error such as EMFILE, which would
// otherwise repeat at once.
const acceptBackoff = 100 * time.Millisecond

// acceptForwarded accepts connections on ln until it is closed, and forwards each over
// a channel that open names (type and extra data).
func (c *connection) acceptForwarded(ln net.Listener, open func(net.Conn) (string, []byte)) {
	c.srv.descriptors.hold(classForward) // the listener's (checkRemoteForwardRoom)
	defer c.srv.descriptors.release(classForward)
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			c.log.Warn("accept forwarded connection", "listener", ln.Addr().String(), "err", err)
			time.Sleep(acceptBackoff)
			continue
		}
		if !c.srv.channels.acquire(1) { // channel_budget.go; the listener is a hold
			c.logNoise(noiseForward, slog.LevelWarn, "forwarded connection refused: "+errNoChannels(c.srv.cfg.MaxChannels).Error(), "listener", ln.Addr().String())
			conn.Close()
			continue
		}
		if !c.srv.descriptors.acquire(classForward) { // descriptors.go
			c.srv.channels.release()
			c.logNoise(noiseForward, slog.LevelWarn, "forwarded connection refused: "+errNoDescriptors.Error(), "listener", ln.Addr().String())
			conn.Close()
			continue
		}
		chanType, extra := open(conn)
		c.spawn(func() {
			defer c.srv.channels.release()
			defer c.srv.descriptors.release(classForward)
			c.forwardToClient(conn.(localStream), chanType, extra)
		})
	}
}

// forwardToClient opens a channel to the client for a connection accepted on one of its
// forwards and joins the two.
func (c *connection) forwardToClient(local localStream, chanType string, extra []byte) {
	ch, reqs, err := c.conn.OpenChannel(chanType, extra)
	if err != nil {
		local.Close()
		c.logNoise(noiseForward, slog.LevelInfo, "client refused forwarded connection", "type", chanType, "err", clipErr(err))
		return
	}
	if c.inbound != nil {
		ch = c.inbound.counted(ch) // channel_memory.go
	}
	c.forward(ch, reqs, local, chanType, addrString(local.LocalAddr()), addrString(local.RemoteAddr()))
}
