package agent

import (
	"fmt"
	"log/slog"
	"time"
)

// This file is how a session starts its program: shell, exec and subsystem requests
// (session_requests.go) come here, a forced command stands in for what the client asked,
// and the program then runs until session.go's finish ends the channel.

// startRequested starts what a shell, exec or subsystem request asks for (arg is the
// command or the subsystem name), or the key's forced command instead (command= in
// authorized_keys, force-command in a certificate). As with sshd, a forced command
// replaces whatever the client asked, which the program finds in SSH_ORIGINAL_COMMAND
// (unset for a shell request), and the forced command "internal-sftp" serves SFTP. A
// forced command is always run as `shell -c FORCED`, even when empty (see
// shellProgram), whatever the client asked for, a shell included.
func (sess *session) startRequested(kind, arg string) bool {
	if sess.grant != nil && sess.grant.hasForcedCommand {
		return sess.startForced(kind, arg)
	}
	sess.keyEnv = sess.userEnvironment()
	switch kind {
	case "shell":
		return sess.start(sess.srv.loginShellProgram(), "")
	case "exec":
		return sess.start(sess.srv.execProgram(arg), arg)
	default:
		prog, err := sess.srv.subsystemProgram(arg)
		if err != nil {
			sess.logNoise(noiseRequest, slog.LevelInfo, "refused subsystem", "err", err)
			return false
		}
		return sess.start(prog, "")
	}
}

// startForced starts the key's forced command in place of what a request of kind asked
// for (arg is the command or the subsystem name); see startRequested.
func (sess *session) startForced(kind, arg string) bool {
	forced := sess.grant.forcedCommand
	if kind == "subsystem" {
		// As sshd: a subsystem that does not exist is refused before the forced
		// command would stand in for it.
		if _, err := sess.srv.subsystemProgram(arg); err != nil {
			sess.logNoise(noiseRequest, slog.LevelInfo, "refused subsystem", "err", err)
			return false
		}
	}
	sess.keyEnv = sess.userEnvironment()
	switch kind {
	case "exec":
		sess.keyEnv = append(sess.keyEnv, "SSH_ORIGINAL_COMMAND="+arg)
	case "subsystem":
		sess.keyEnv = append(sess.keyEnv, "SSH_ORIGINAL_COMMAND="+sftpSubsystemCommand)
	}
	// The forced command itself is not logged: it may carry a token (the options
	// parser keeps option values out of logs for the same reason).
	sess.log.Info("running the key's forced command", "requested", kind, "original_command", clip(arg, logTextMax), "key_source", sess.grant.source)
	if forced == sftpSubsystemCommand {
		prog, _ := sess.srv.subsystemProgram("sftp")
		return sess.start(prog, "")
	}
	return sess.start(sess.srv.execProgram(forced), arg)
}

// sftpSubsystemCommand is how a forced command asks for the built-in SFTP server, and
// what SSH_ORIGINAL_COMMAND holds when an SFTP request meets a forced command (sshd's
// name for its in-process SFTP server).
const sftpSubsystemCommand = "internal-sftp"

// userEnvironment is the key's environment= options when --permit-user-environment
// allows them (sshd's PermitUserEnvironment: off by default, since they can set PATH
// or LD_PRELOAD for a forced command).
func (sess *session) userEnvironment() []string {
	if sess.grant == nil || !sess.srv.cfg.PermitUserEnvironment || len(sess.grant.environment) == 0 {
		return nil
	}
	return append([]string(nil), sess.grant.environment...)
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
