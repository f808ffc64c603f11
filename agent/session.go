package agent

import (
	"errors"
	"fmt"
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
	conn *connection // for agent forwarding; nil in tests that build a session directly
	ends endpoints   // the connection's two ends, for SSH_CONNECTION
	ch   ssh.Channel
	log  *slog.Logger

	grant          *grant // the logged-in key's restrictions; nil (tests) means none
	clientEnv      []string
	clientEnvBytes int         // of clientEnv, bounded by maxClientEnvBytes
	commandBytes   int         // of the exec command, bounded by holdCommand
	keyEnv         []string    // environment= options and SSH_ORIGINAL_COMMAND, over clientEnv
	authSock       string      // SSH_AUTH_SOCK, once the client asked for agent forwarding
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
	for req := range reqs {
		ok := sess.handleRequest(req)
		if req.WantReply {
			if err := req.Reply(ok, nil); err != nil {
				c.log.Debug("reply to session request", "type", clip(req.Type, logNameMax), "err", err)
			}
		}
		sess.afterReply()
	}
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

// handleRequest acts on one channel request and reports whether it succeeded.
func (sess *session) handleRequest(req *ssh.Request) bool {
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if ssh.Unmarshal(req.Payload, &kv) != nil || sess.started {
			return false
		}
		return sess.acceptEnv(kv.Name, kv.Value)
	case "pty-req":
		var p ptyRequest
		if ssh.Unmarshal(req.Payload, &p) != nil || sess.started || sess.ptyReq != nil {
			return false
		}
		if err := permitTerminal(sess.grant); err != nil {
			sess.logNoise(noiseRequest, slog.LevelInfo, "terminal refused", "reason", err)
			return false
		}
		if err := boundTerminalRequest(&p); err != nil {
			sess.logNoise(noiseRequest, slog.LevelInfo, "terminal refused", "reason", err)
			return false
		}
		sess.ptyReq = &p
		return true
	case "window-change":
		var w windowChange
		if ssh.Unmarshal(req.Payload, &w) != nil || sess.ptyReq == nil {
			return false
		}
		sess.ptyReq.Cols, sess.ptyReq.Rows, sess.ptyReq.Width, sess.ptyReq.Height = w.Cols, w.Rows, w.Width, w.Height
		if sess.proc != nil && sess.proc.tty != nil {
			if err := sess.proc.tty.setSize(w.Cols, w.Rows, w.Width, w.Height); err != nil {
				sess.log.Debug("resize terminal", "err", err)
				return false
			}
		}
		return true
	case "shell":
		if len(req.Payload) != 0 || sess.started {
			return false
		}
		return sess.startRequested("shell", "")
	case "exec":
		var cmd struct{ Command string }
		if ssh.Unmarshal(req.Payload, &cmd) != nil || sess.started {
			return false
		}
		if err := sess.holdCommand(cmd.Command); err != nil {
			sess.refuseCommand(err)
			return false
		}
		return sess.startRequested("exec", cmd.Command)
	case "subsystem":
		var sub struct{ Name string }
		if ssh.Unmarshal(req.Payload, &sub) != nil || sess.started {
			return false
		}
		return sess.startRequested("subsystem", sub.Name)
	case "signal":
		var sig struct{ Name string }
		if ssh.Unmarshal(req.Payload, &sig) != nil || sess.proc == nil {
			return false
		}
		return sess.proc.signal(sig.Name)
	case string(forwardAgent):
		// OpenSSH's client asks before shell or exec, without wanting a reply; the
		// program then finds the socket in SSH_AUTH_SOCK.
		if sess.started || sess.conn == nil {
			return false
		}
		path, err := sess.conn.agentSocketPath()
		if err != nil {
			if !errors.Is(err, errProhibited) { // refusals are logged by the policy
				sess.logNoise(noiseForward, slog.LevelWarn, "agent forwarding failed", "err", err)
			}
			return false
		}
		sess.authSock = path
		return true
	default:
		// x11-req, ...: not offered (RFC 4254 §5.4: an unrecognized request gets a
		// failure reply).
		sess.logNoise(noiseRequest, slog.LevelDebug, "refused session request", "type", clip(req.Type, logNameMax))
		return false
	}
}

// start runs prog (command is the client's, for the log), then serves it in the
// background. It always answers true once the channel will carry a result: a program
// that cannot start is reported on stderr with exit status 127, like a shell would.
func (sess *session) start(prog program, command string) bool {
	log := sess.log.With("session", prog.kind, "pty", sess.ptyReq != nil && prog.usesTerminal)
	if command != "" {
		log = log.With("command", clip(command, logTextMax))
	}
	sess.started = true
	p, err := sess.srv.startProcess(sess, prog)
	if err != nil {
		log.Warn("session could not start", "event", "session.start", "err", err)
		sess.serve = func() {
			defer close(sess.done)
			fmt.Fprintf(sess.ch.Stderr(), "jobsshd: %v\r\n", err)
			sess.finish(exitResult{status: 127}, log, time.Now())
		}
		return true
	}
	sess.proc = p
	log.Info("session started", "event", "session.start", "pid", p.cmd.Process.Pid)
	start := time.Now()
	sess.serve = func() {
		defer close(sess.done)
		sess.finish(p.wait(), log, start)
	}
	return true
}

// afterReply starts serving a program that shell, exec or subsystem just started, once
// the request's reply is sent: a program that exits at once must not get its exit
// status and channel close to the client before the success reply (the client then
// sees the channel closed under its request, io.EOF).
func (sess *session) afterReply() {
	if sess.serve != nil {
		go sess.serve()
		sess.serve = nil
	}
}

// finish ends the channel in the order that loses nothing (docs/architecture.md,
// "Teardown order"; pinned by TestTeardownOrder in teardown_test.go): the output has been drained by wait; then EOF, then exit-status or
// exit-signal (RFC 4254 §6.10), then close.
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
