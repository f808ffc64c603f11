package agent

import (
	"errors"
	"log/slog"

	"golang.org/x/crypto/ssh"
)

// This file answers the requests of a session channel (RFC 4254 §6), one handler per
// request type. Each reports whether the request succeeded; handleSession sends the
// reply.

// handleRequest acts on one channel request and reports whether it succeeded.
func (sess *session) handleRequest(req *ssh.Request) bool {
	switch req.Type {
	case "env":
		return sess.handleEnv(req.Payload)
	case "pty-req":
		return sess.handlePtyReq(req.Payload)
	case "window-change":
		return sess.handleWindowChange(req.Payload)
	case "shell":
		return sess.handleShell(req.Payload)
	case "exec":
		return sess.handleExec(req.Payload)
	case "subsystem":
		return sess.handleSubsystem(req.Payload)
	case "signal":
		return sess.handleSignal(req.Payload)
	case string(forwardAuthAgent):
		return sess.handleAuthAgentReq()
	default:
		// x11-req, ...: not offered (RFC 4254 §5.4: an unrecognized request gets a
		// failure reply).
		sess.logNoise(noiseRequest, slog.LevelDebug, "refused session request", "type", clip(req.Type, logNameMax))
		return false
	}
}

// handleEnv serves "env" (RFC 4254 §6.4), before the program starts.
func (sess *session) handleEnv(payload []byte) bool {
	var kv struct{ Name, Value string }
	if ssh.Unmarshal(payload, &kv) != nil || sess.started {
		return false
	}
	return sess.acceptEnv(kv.Name, kv.Value)
}

// handlePtyReq serves "pty-req" (RFC 4254 §6.2): at most one, before the program starts,
// when the key allows a terminal and the request is within bounds.
func (sess *session) handlePtyReq(payload []byte) bool {
	var p ptyRequest
	if ssh.Unmarshal(payload, &p) != nil || sess.started || sess.ptyReq != nil {
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
}

// handleWindowChange serves "window-change" (RFC 4254 §6.7): it records the size for a
// program still to start and resizes the terminal of a running one.
func (sess *session) handleWindowChange(payload []byte) bool {
	var w windowChange
	if ssh.Unmarshal(payload, &w) != nil || sess.ptyReq == nil {
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
}

// handleShell serves "shell" (RFC 4254 §6.5), whose payload is empty.
func (sess *session) handleShell(payload []byte) bool {
	if len(payload) != 0 || sess.started {
		return false
	}
	return sess.startRequested("shell", "")
}

// handleExec serves "exec" (RFC 4254 §6.5) once the command fits the connection's
// budget (holdCommand).
func (sess *session) handleExec(payload []byte) bool {
	var cmd struct{ Command string }
	if ssh.Unmarshal(payload, &cmd) != nil || sess.started {
		return false
	}
	if err := sess.holdCommand(cmd.Command); err != nil {
		sess.refuseCommand(err)
		return false
	}
	return sess.startRequested("exec", cmd.Command)
}

// handleSubsystem serves "subsystem" (RFC 4254 §6.5).
func (sess *session) handleSubsystem(payload []byte) bool {
	var sub struct{ Name string }
	if ssh.Unmarshal(payload, &sub) != nil || sess.started {
		return false
	}
	return sess.startRequested("subsystem", sub.Name)
}

// handleSignal serves "signal" (RFC 4254 §6.9) for a running program.
func (sess *session) handleSignal(payload []byte) bool {
	var sig struct{ Name string }
	if ssh.Unmarshal(payload, &sig) != nil || sess.proc == nil {
		return false
	}
	return sess.proc.signal(sig.Name)
}

// handleAuthAgentReq serves "auth-agent-req@openssh.com" (ssh -A, OpenSSH's
// PROTOCOL.agent). OpenSSH's client asks before shell or exec, without wanting a reply;
// the program then finds the forwarded ssh-agent's socket in SSH_AUTH_SOCK.
func (sess *session) handleAuthAgentReq() bool {
	if sess.started || sess.conn == nil {
		return false
	}
	path, err := sess.conn.authAgentSocketPath()
	if err != nil {
		if !errors.Is(err, errProhibited) { // refusals are logged by the policy
			sess.logNoise(noiseForward, slog.LevelWarn, "agent forwarding failed", "err", err)
		}
		return false
	}
	sess.authSock = path
	return true
}
