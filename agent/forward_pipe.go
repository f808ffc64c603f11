package agent

import (
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// localStream is the agent's end of a forwarded connection: a TCP or unix socket, both of
// which can be half-closed.
type localStream interface {
	net.Conn
	CloseWrite() error
}

// forwardDrainTimeout bounds how long what a client sent before closing its channel may
// take to reach a socket that does not read it.
const forwardDrainTimeout = 10 * time.Second

// pipe joins a forwarded channel to its local stream until both directions have ended
// or the channel is closed, then closes both. An EOF ends one direction only (RFC 4254
// §5.3): the client's EOF becomes a shutdown(SHUT_WR) of the socket and the socket's EOF
// a channel EOF, while the other direction keeps flowing, as request-then-shutdown
// protocols need. gliderlabs/ssh closes both sides at the first EOF instead
// (lima-vm/lima#5329, cli/cli#6888).
//
// The channel's requests end when the channel is closed: by us once both directions
// ended, by the client, or by the end of the connection. Then nothing more is read from
// the socket, so that no goroutine or descriptor outlives the channel, but what the
// client sent before closing is still written to it (within forwardDrainTimeout), as
// OpenSSH drains a channel's output before it closes the socket.
//
// It returns the bytes moved each way: from the client to the socket, and back.
func (s *Server) pipe(ch ssh.Channel, reqs <-chan *ssh.Request, local localStream) (fromClient, toClient int64) {
	var copies sync.WaitGroup
	copies.Add(2)
	go func() {
		defer copies.Done()
		fromClient, _ = s.copyBuffers.copyStream(local, ch) // ends at the client's EOF or a gone socket, either way the end of this direction
		_ = local.CloseWrite()                              // the socket may already be closed
	}()
	go func() {
		defer copies.Done()
		toClient, _ = s.copyBuffers.copyStream(ch, local) // ends at the socket's EOF, a closed channel, or the deadline below
		_ = ch.CloseWrite()                               // the channel may already be closed
	}()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		copies.Wait()
		local.Close()
		_ = ch.Close() // the client may have closed it first
	}()
	for req := range reqs {
		if req.WantReply {
			_ = req.Reply(false, nil) // no requests on forwarded channels; the client may be gone
		}
	}
	_ = local.SetReadDeadline(time.Unix(1, 0)) // wakes a read that would wait forever
	_ = local.SetWriteDeadline(time.Now().Add(forwardDrainTimeout))
	<-closed
	local.Close()
	return fromClient, toClient // the copies have ended: closed is closed after copies.Wait
}

// forward joins an accepted forwarding channel to its socket (see pipe), and logs it
// for the audit log when it opens and when it closes. kind is the channel type; target
// is where the connection goes in the container (direct forwards) or the listener it
// arrived on (remote and ssh-agent forwards); originator is the peer the connection comes
// from, when known.
func (c *connection) forward(ch ssh.Channel, reqs <-chan *ssh.Request, local localStream, kind, target, originator string) {
	log := c.log.With("kind", kind, "target", clip(target, logPathMax))
	if originator != "" {
		log = log.With("originator", clip(originator, logTextMax))
	}
	log.Info("forward opened", "event", "forward.open")
	start := time.Now()
	fromClient, toClient := c.srv.pipe(ch, reqs, local)
	log.Info("forward closed", "event", "forward.close", "bytes_from_client", fromClient,
		"bytes_to_client", toClient, "duration", time.Since(start).Round(time.Millisecond))
}

// addrString is a socket address for the log; "" when there is none (an unnamed unix
// socket peer).
func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	if u, ok := a.(*net.UnixAddr); ok && (u == nil || u.Name == "" || u.Name == "@") {
		return ""
	}
	return a.String()
}
