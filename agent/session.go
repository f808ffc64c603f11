package agent

import (
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// session is one "session" channel (RFC 4254 §6): requests before the program starts
// configure it (env, pty-req), shell/exec start it, and later requests steer it
// (window-change, signal).
type session struct {
	srv  *Server
	conn *connection // for ssh-agent forwarding; nil in tests that build a session directly
	ends endpoints   // the connection's two ends, for SSH_CONNECTION
	ch   ssh.Channel
	log  *slog.Logger

	grant          *grant // the logged-in key's restrictions; nil (tests) means none
	clientEnv      []string
	clientEnvBytes int         // of clientEnv, bounded by maxClientEnvBytes
	commandBytes   int         // of the exec command, bounded by holdCommand
	keyEnv         []string    // environment= options and SSH_ORIGINAL_COMMAND, over clientEnv
	authSock       string      // SSH_AUTH_SOCK, once the client asked for ssh-agent forwarding
	ptyReq         *ptyRequest // nil without a terminal
	started        bool        // shell or exec was accepted
	proc           *process    // the running program; nil when it could not start

	copiers sync.WaitGroup // the goroutines moving stdin and output; see process.go
	done    chan struct{}  // closed when the program has ended and the channel is closed
	serve   func()         // set by start: waits for the program, then ends the channel
}

// maxClientEnv bounds the variables one session accepts from the client, as OpenSSH
// bounds them (session.c: 1000 env requests); a client could otherwise grow the agent's
// memory without limit.
const maxClientEnv = 128

// ptyRequest is the payload of "pty-req", RFC 4254 §6.2.
type ptyRequest struct {
	Term                      string
	Cols, Rows, Width, Height uint32
	Modes                     string
}

// windowChange is the payload of "window-change", RFC 4254 §6.7.
type windowChange struct {
	Cols, Rows, Width, Height uint32
}

// handleSession serves one session channel until the client closes it. It returns only
// when every goroutine and process of the session is gone (or detached by the user).
func (s *Server) handleSession(c *connection, nc ssh.NewChannel, releaseChannel func()) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		c.log.Debug("accept session channel", "err", err)
		return
	}
	sess := &session{srv: s, conn: c, ends: endpointsOf(c.conn.RemoteAddr(), c.conn.LocalAddr()), ch: ch, log: c.log, done: make(chan struct{}),
		grant: grantOf(c.conn.Permissions)}
	s.live.add(&s.live.sessions, 1)
	for req := range reqs {
		ok := sess.handleRequest(req)
		if req.WantReply {
			if err := req.Reply(ok, nil); err != nil {
				c.log.Debug("reply to session request", "type", clip(req.Type, logNameMax), "err", err)
			}
		}
		sess.afterReply()
	}
	s.live.add(&s.live.sessions, -1)
	c.wakeAfterChannelClose() // the client's CLOSE arrived: see close_wake.go
	// The channel is closed: by us after the program ended, or by the client (or the
	// connection) while it still runs. In the second case the program is hung up.
	if sess.started {
		if sess.proc != nil {
			sess.proc.hangUp()
			s.awaitHungUp(sess, releaseChannel)
		}
		<-sess.done
	}
	sess.copiers.Wait()
	c.releaseEnvBytes(sess.clientEnvBytes)
	c.releaseCommandBytes(sess.commandBytes)
}

// finish ends the channel in the order that loses nothing (docs/architecture.md,
// "Teardown order"; pinned by TestTeardownOrder in teardown_test.go): the output has
// been drained by wait; then EOF, then exit-status or exit-signal (RFC 4254 §6.10),
// then close.
func (sess *session) finish(res exitResult, log *slog.Logger, start time.Time) {
	_ = sess.ch.CloseWrite() // the client may already be gone
	var err error
	if res.signal != "" {
		err = sendExitSignal(sess.ch, res.signal, res.coreDumped)
		log.Info("session ended", "event", "session.end", "signal", res.signal, "duration", time.Since(start).Round(time.Millisecond))
	} else {
		err = sendExitStatus(sess.ch, res.status)
		log.Info("session ended", "event", "session.end", "exit", res.status, "duration", time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		log.Debug("send exit status", "err", err)
	}
	_ = sess.ch.Close() // the client may already have closed its side
}

func sendExitStatus(ch ssh.Channel, status uint32) error {
	_, err := ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
	return err
}

func sendExitSignal(ch ssh.Channel, signal string, core bool) error {
	msg := struct {
		Signal     string
		CoreDumped bool
		Message    string
		Lang       string
	}{signal, core, "", ""}
	_, err := ch.SendRequest("exit-signal", false, ssh.Marshal(msg))
	return err
}
