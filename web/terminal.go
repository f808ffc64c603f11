package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/http"

	"github.com/coder/websocket"

	"jobsshd/internal/logclip"
)

// handleTerminal serves the /terminal WebSocket (the protocol is in
// terminal_protocol.go): a new login shell for the page, or the page's shell again
// after its socket dropped, for as long as Config.Reconnect keeps it.
func (s *Server) handleTerminal(w http.ResponseWriter, r *http.Request) {
	if s.terminals == nil {
		http.Error(w, "the web terminal is not available in this agent", http.StatusNotImplemented)
		return
	}
	if !s.originAllowed(r) {
		s.refuseOrigin(w, r)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Origin was checked above, with --web-allowed-origin.
		InsecureSkipVerify: true,
		// Compression would hold a window of memory per socket, and the output is
		// bounded by flow control, not by the link.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the request with the reason
	}
	c.SetReadLimit(maxTerminalMessage) // a larger message closes the socket with 1009
	log := s.log.With("remote", s.clientAddr(r))
	p, err := parseTerminalParams(r.URL.Query())
	if err != nil {
		_ = c.Close(closeBadRequest, clipReason(err.Error()))
		return
	}
	// A shell is bound to the token it was started with: its session id alone, from
	// a log or a screenshot, is no use once the token has changed.
	owner := sha256.Sum256(s.token.value)
	sess, err := s.terminalFor(r, p, owner)
	if err != nil {
		code := closeTooMany
		var perr *protocolError
		if errors.As(err, &perr) {
			code = perr.code
		}
		log.Warn("web terminal refused", "event", "web.terminal.refuse", "reason", err)
		_ = c.Close(code, clipReason(err.Error()))
		return
	}
	s.terminals.serveSocket(context.Background(), &socket{c: c, log: log}, sess, p.offset, p.cols, p.rows)
}

// terminalFor starts a shell for a page that has none, or finds the page's shell.
func (s *Server) terminalFor(r *http.Request, p terminalParams, owner [32]byte) (*termSession, error) {
	if p.session != "" {
		if sess := s.terminals.find(p.session, owner); sess != nil {
			return sess, nil
		}
		return nil, &protocolError{closeNoSession, "this terminal has ended or waited too long for a reconnect; reload the page for a new one"}
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return s.terminals.open(owner, TerminalRequest{Remote: s.clientTCPAddr(r), Local: tcpLocal(local), Cols: p.cols, Rows: p.rows})
}

// maxCloseReason is the longest close reason: a close frame's payload is at most 125
// bytes, the 2-byte code included (RFC 6455 §5.5).
const maxCloseReason = 123

// clipReason fits a close reason into a close frame, as valid UTF-8 (RFC 6455 §5.5.1:
// a browser fails the connection on an invalid reason, and the page would never see it).
func clipReason(s string) string { return logclip.Clip(s, maxCloseReason-logclip.MarkMax) }
