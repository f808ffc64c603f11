package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
)

const (
	// pingEvery keeps proxies from closing a quiet socket and finds a page that went
	// away without closing (a laptop that slept): a ping not written and answered
	// within pingTimeout closes the socket, and the shell waits for the page to
	// reconnect.
	pingEvery   = 30 * time.Second
	pingTimeout = 15 * time.Second
)

// socket is one page's WebSocket attached to a shell.
type socket struct {
	c   *websocket.Conn
	log *slog.Logger
}

// serveSocket runs sock attached to s, from the page's offset, until the socket
// closes, the page sends what the protocol forbids, another socket takes the shell,
// or the shell ends and the page has been told. It returns once every goroutine it
// started has ended.
func (t *terminals) serveSocket(ctx context.Context, sock *socket, s *termSession, offset int64, cols, rows uint16) {
	from, replay := s.attach(sock, offset)
	if err := s.sh.Resize(cols, rows); err != nil { // the page's window may have changed while it was away
		sock.log.Debug("resize web terminal", "err", err)
	}
	sock.log.Info("web terminal attached", "event", "web.terminal.attach", "replay", replay)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); defer cancel(); t.send(ctx, sock, s, from) }()
	go func() { defer wg.Done(); keepAlive(ctx, sock, t.pingEvery, t.pingTimeout) }()
	t.receive(ctx, sock, s)
	cancel()
	if s.detach(sock, t.reconnect, func() { t.expire(s) }) { // wakes the sender if it still waits
		t.remove(s)
	}
	wg.Wait()
	_ = sock.c.CloseNow() // already closed with a code, unless the peer just vanished
}

// send sends the shell's output, then its exit, to the page.
func (t *terminals) send(ctx context.Context, sock *socket, s *termSession, from int64) {
	if err := writeEvent(ctx, sock.c, map[string]any{"type": "attached", "session": s.id, "offset": from}); err != nil {
		return
	}
	buf := make([]byte, readChunk)
	for {
		n, done, err := s.nextOutput(sock, buf)
		if errors.Is(err, errDetached) {
			_ = sock.c.Close(closeReplaced, "another connection took over this terminal")
			return
		}
		if done {
			break
		}
		if err := sock.c.Write(ctx, websocket.MessageBinary, buf[:n]); err != nil {
			return // the page is gone: receive sees it too
		}
	}
	status, signal := s.exit()
	if err := writeEvent(ctx, sock.c, map[string]any{"type": "exit", "status": status, "signal": signal}); err != nil {
		return // the page may reconnect to learn it
	}
	t.remove(s)
	_ = sock.c.Close(websocket.StatusNormalClosure, "the shell ended")
}

// receive passes the page's input and resizes to the shell until the socket ends,
// and closes the socket with a code that names what the page did wrong.
func (t *terminals) receive(ctx context.Context, sock *socket, s *termSession) {
	for {
		typ, p, err := sock.c.Read(ctx)
		if err != nil {
			switch st := websocket.CloseStatus(err); {
			case st == closeGoodbye:
				sock.log.Info("web terminal page closed; hanging up its shell", "event", "web.terminal.close")
				s.hangUp()
				t.remove(s)
			case st == -1 && ctx.Err() == nil:
				sock.log.Debug("web terminal socket ended", "err", err) // 1009 lands here too, closed by the library
			}
			return
		}
		msg, err := parseTerminalMessage(typ, p)
		if err == nil && msg.kind == msgAck {
			err = s.ack(sock, msg.offset)
		}
		var perr *protocolError
		if errors.As(err, &perr) {
			sock.log.Info("web terminal message refused; closing its socket", "event", "web.terminal.refuse", "reason", perr.reason, "code", int(perr.code))
			_ = sock.c.Close(perr.code, perr.reason)
			return
		}
		switch msg.kind {
		case msgData:
			if err := s.queueInput(msg.data); err != nil {
				sock.log.Info("web terminal input not read by its program; closing its socket", "event", "web.terminal.refuse", "reason", errInputNotRead.reason, "code", int(errInputNotRead.code))
				_ = sock.c.Close(errInputNotRead.code, errInputNotRead.reason)
				return
			}
		case msgResize:
			if err := s.sh.Resize(msg.cols, msg.rows); err != nil {
				sock.log.Debug("resize web terminal", "err", err)
			}
		}
	}
}

// keepAlive pings the page every `every` until ctx ends; a ping that fails closes
// the socket. The library reads the page's pong only in a Read, so receive must never
// wait on the shell: input goes through the session's queue (terminal_input.go).
func keepAlive(ctx context.Context, sock *socket, every, timeout time.Duration) {
	c := sock.c
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Ping(pctx)
		cancel()
		if err != nil {
			_ = c.CloseNow() // the page is gone or stopped reading: it may reconnect
			return
		}
	}
}

// writeEvent sends one JSON event as a text message.
func writeEvent(ctx context.Context, c *websocket.Conn, event map[string]any) error {
	b, err := json.Marshal(event)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}
