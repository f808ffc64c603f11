package agent

import (
	"fmt"
	"log/slog"
)

// An exec command is kept for as long as its session runs (in process.cmd, and again in
// SSH_ORIGINAL_COMMAND under a forced command), and its client sizes it: up to the
// 256 KiB packet x/crypto accepts. A client may hold MaxSessions (64) sessions on each of
// MaxConnections (256) connections, so commands are bounded one by one and per
// connection (issue 10, item 9).
const (
	// maxExecCommand bounds one exec command. Linux passes no single argument longer
	// than MAX_ARG_STRLEN (32 pages, 128 KiB; execve(2)), and the command is one
	// argument of `shell -c`, so anything near that fails to start anyway. Real
	// clients send far less: VS Code Remote-SSH and rsync's server command line are
	// a few hundred bytes, scp/sftp's a few dozen; rsync pulling many named files
	// (`rsync host:a host:b ...`) is the long case, and 64 KiB is about a thousand
	// such names.
	maxExecCommand = 64 << 10
	// maxConnectionCommandBytes bounds the commands of all open sessions of one
	// connection: two of the longest at once, so that the whole agent holds at most
	// 256 × 128 KiB = 32 MiB of them.
	maxConnectionCommandBytes = 2 * maxExecCommand
)

// holdCommand counts command against the session's bounds, or says why it is refused.
// What it takes is given back when the session ends (handleSession).
func (sess *session) holdCommand(command string) error {
	if len(command) > maxExecCommand {
		return fmt.Errorf("the command is %d bytes long; this server accepts at most %d: pass long input on stdin instead", len(command), maxExecCommand)
	}
	if !sess.conn.reserveCommandBytes(len(command)) {
		return fmt.Errorf("the commands of this connection's open sessions would exceed %d bytes: end some sessions or open another connection", maxConnectionCommandBytes)
	}
	sess.commandBytes += len(command)
	return nil
}

// refuseCommand tells the client why its exec request fails, on the channel's stderr
// before the failure reply (OpenSSH's client shows both), and logs it.
func (sess *session) refuseCommand(err error) {
	sess.logNoise(noiseRequest, slog.LevelInfo, "refused exec command", "reason", err)
	if sess.ch != nil {
		_, _ = fmt.Fprintf(sess.ch.Stderr(), "jobsshd: %v\r\n", err) // the client may be gone
	}
}

// reserveCommandBytes takes n bytes of the connection's budget for exec commands; it
// reports false, taking nothing, when they do not fit. A nil connection (unit tests)
// has no budget of its own.
func (c *connection) reserveCommandBytes(n int) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmdBytes+n > maxConnectionCommandBytes {
		return false
	}
	c.cmdBytes += n
	return true
}

// releaseCommandBytes gives back a session's command once it has ended.
func (c *connection) releaseCommandBytes(n int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cmdBytes -= n
	c.mu.Unlock()
}
