package agent

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH_MSG_DISCONNECT reason codes (RFC 4253 §11.1) used before the handshake.
const (
	disconnectTooManyConnections = 12
)

// maxRefusing bounds the connections being told at once why they are refused; beyond
// it, a refused connection is just closed, so that a flood cannot make the refusals
// themselves the resource that runs out.
const maxRefusing = 64

// refusalDrain is how long a refused connection is read from after the refusal is
// sent. Closing a socket with unread input makes the kernel send a reset, which can
// discard the refusal before the client has read it.
const refusalDrain = time.Second

// refuseEarly turns a connection away before any key exchange, with a reason a person
// can read: our version line, then SSH_MSG_DISCONNECT in the clear (a packet with no
// cipher or MAC, as every packet is before the first key exchange; RFC 4253 §6). OpenSSH
// prints it as "Received disconnect from HOST port N:12: too many connections (256)".
func (s *Server) refuseEarly(c net.Conn, reason uint32, message string) {
	select {
	case s.refusing <- struct{}{}:
		defer func() { <-s.refusing }()
	default:
		c.Close()
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refusalDrain))
	msg := append([]byte(s.sshConfig.Load().ServerVersion+"\r\n"), disconnectPacket(reason, message)...)
	if _, err := c.Write(msg); err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite() // the client sees the end after the message
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10)) // until the client closes, or the deadline
}

// disconnectPacket is an unencrypted binary packet (RFC 4253 §6) carrying
// SSH_MSG_DISCONNECT (§11.1): reason code, description, empty language tag.
func disconnectPacket(reason uint32, message string) []byte {
	payload := ssh.Marshal(struct {
		Type    uint8
		Reason  uint32
		Message string
		Lang    string
	}{1, reason, message, ""})
	return cleartextPacket(payload)
}

// cleartextPacket frames payload as a binary packet before key exchange (RFC 4253 §6):
// the packet length field, padding length byte, payload and padding together are a
// multiple of 8 bytes, with at least 4 bytes of padding.
func cleartextPacket(payload []byte) []byte {
	padding := 8 - (5+len(payload))%8
	if padding < 4 {
		padding += 8
	}
	pkt := make([]byte, 5+len(payload)+padding)
	binary.BigEndian.PutUint32(pkt, uint32(1+len(payload)+padding))
	pkt[4] = byte(padding)
	copy(pkt[5:], payload)
	return pkt // zero padding: nothing to hide before key exchange
}

// logRefusal logs a refused connection as connection.refuse, rate-limited (logLimiter):
// the next line logged says how many were not.
func (s *Server) logRefusal(log *slog.Logger, msg string, args ...any) {
	s.refusals.Log(log, slog.LevelWarn, msg, append(args, "event", "connection.refuse")...)
}
