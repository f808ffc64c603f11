package agent

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// Unix-socket forwarding is OpenSSH's "streamlocal" extension (openssh-portable
// PROTOCOL §2.4): the TCP messages with a socket path for host and port. VS Code
// Remote-SSH uses it (microsoft/vscode-remote-release#9809). Every socket is opened or
// created as the account, so the forward reaches nothing the account could not reach
// itself, even while the agent runs as root.

// directStreamLocalMsg is the extra data of a "direct-streamlocal@openssh.com" channel
// open.
type directStreamLocalMsg struct {
	SocketPath string
	Reserved0  string
	Reserved1  uint32
}

// streamLocalForwardMsg is the payload of "streamlocal-forward@openssh.com" and
// "cancel-streamlocal-forward@openssh.com".
type streamLocalForwardMsg struct {
	SocketPath string
}

// forwardedStreamLocalMsg is the extra data of a "forwarded-streamlocal@openssh.com"
// channel open.
type forwardedStreamLocalMsg struct {
	SocketPath string
	Reserved   string
}

// socketPath resolves a path from the client: a relative one is taken from the
// account's home, where the client's sessions start.
func (c *connection) socketPath(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.srv.account.Home, p)
}

// handleDirectStreamLocal serves "direct-streamlocal@openssh.com" (ssh -L port:/path):
// it connects to the socket as the account and joins the channel to it.
func (c *connection) handleDirectStreamLocal(nc ssh.NewChannel) {
	var msg directStreamLocalMsg
	if err := ssh.Unmarshal(nc.ExtraData(), &msg); err != nil {
		c.rejectForward(nc, fmt.Errorf("parse direct-streamlocal request: %w", err))
		return
	}
	if msg.SocketPath == "" {
		c.rejectForward(nc, errors.New("direct-streamlocal: no socket path"))
		return
	}
	if err := checkSocketPath(forwardDirectUnix, msg.SocketPath); err != nil {
		c.rejectForward(nc, err)
		return
	}
	path := c.socketPath(msg.SocketPath)
	if err := c.permitForward(forwardDirectUnix, forwardTarget{path: path}); err != nil {
		c.rejectForward(nc, err)
		return
	}
	conn, err := c.srv.dialUnixAsAccount(c.ctx, path)
	if err != nil {
		c.rejectForward(nc, fmt.Errorf("connect to %s as %s: %w", path, c.srv.account.Name, dialReason(err)))
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		conn.Close()
		c.log.Debug("accept direct-streamlocal channel", "err", err)
		return
	}
	c.forward(ch, reqs, conn, string(forwardDirectUnix), path, "")
}

// remoteStreamLocalForward serves "streamlocal-forward@openssh.com" (ssh -R
// /path:host:port): it creates the listening socket as the account, mode 0600, and opens
// a "forwarded-streamlocal@openssh.com" channel for each connection to it. The socket
// is removed when the forward is cancelled or the connection ends.
func (c *connection) remoteStreamLocalForward(payload []byte) error {
	var msg streamLocalForwardMsg
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return fmt.Errorf("parse streamlocal-forward request: %w", err)
	}
	if msg.SocketPath == "" {
		return errors.New("streamlocal-forward: no socket path")
	}
	if err := checkSocketPath(forwardRemoteUnix, msg.SocketPath); err != nil {
		return err
	}
	path := c.socketPath(msg.SocketPath)
	if err := c.permitForward(forwardRemoteUnix, forwardTarget{path: path}); err != nil {
		return err
	}
	if err := c.checkRemoteForwardRoom(); err != nil {
		return fmt.Errorf("streamlocal-forward %s: %w", path, err)
	}
	sock, err := c.srv.listenUnixAsAccount(path)
	if err != nil {
		return fmt.Errorf("streamlocal-forward: %w", err)
	}
	f := &remoteForward{listeners: []net.Listener{sock}, remove: func() {
		if err := c.srv.closeAndRemove(sock); err != nil {
			c.log.Warn("remove forwarded socket", "err", err)
		}
	}}
	c.mu.Lock()
	_, taken := c.unixForwards[msg.SocketPath]
	if !c.ending && !taken {
		c.unixForwards[msg.SocketPath] = f
	}
	ending := c.ending
	c.mu.Unlock()
	if ending || taken {
		f.close()
		return fmt.Errorf("streamlocal-forward %s: connection closing or forward exists", path)
	}
	extra := ssh.Marshal(forwardedStreamLocalMsg{SocketPath: msg.SocketPath})
	c.spawn(func() {
		c.acceptForwarded(sock, func(net.Conn) (string, []byte) { return "forwarded-streamlocal@openssh.com", extra })
	})
	c.log.Info("remote forward", "requested", clip(msg.SocketPath, logPathMax), "listening", clip(path, logPathMax))
	return nil
}

// cancelRemoteStreamLocalForward serves "cancel-streamlocal-forward@openssh.com" for
// one of this connection's socket forwards.
func (c *connection) cancelRemoteStreamLocalForward(payload []byte) error {
	var msg streamLocalForwardMsg
	if err := ssh.Unmarshal(payload, &msg); err != nil {
		return fmt.Errorf("parse cancel-streamlocal-forward request: %w", err)
	}
	c.mu.Lock()
	f, ok := c.unixForwards[msg.SocketPath]
	delete(c.unixForwards, msg.SocketPath)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("cancel-streamlocal-forward %s: this connection has no such forward", clip(msg.SocketPath, logPathMax))
	}
	f.close()
	c.log.Info("remote forward cancelled", "requested", clip(msg.SocketPath, logPathMax))
	return nil
}
