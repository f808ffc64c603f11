package agent

import (
	"fmt"
	"log/slog"
)

// What one session keeps of what its client sends before the program starts. A
// session's requests are held until then, and a client may open MaxSessions (64)
// sessions on each of MaxConnections (256) connections: 16 sessions × 128 LC_* values
// of 200 KB took the agent from 7 MiB to 587 MiB before these bounds.
const (
	// maxClientEnvValue bounds one accepted variable's value. LANG and LC_* values
	// are a few dozen bytes; 4 KiB leaves room for what an operator adds to
	// --accept-env.
	maxClientEnvValue = 4 << 10
	// maxClientEnvBytes bounds the accepted variables of one session, names and
	// values together.
	maxClientEnvBytes = 16 << 10
	// maxConnectionEnvBytes bounds them for all open sessions of one connection, so
	// that the whole agent holds at most 256 × 64 KiB = 16 MiB of them.
	maxConnectionEnvBytes = 64 << 10
	// maxTermName bounds a pty-req's TERM (terminfo names are short: "xterm-256color").
	maxTermName = 256
	// maxTerminalModes bounds a pty-req's encoded modes: 5 bytes for each of the 159
	// opcodes RFC 4254 §8 defines is 795 bytes, so a longer list only repeats them.
	maxTerminalModes = 1 << 10
)

// acceptEnv keeps a client-sent variable (RFC 4254 §6.4) when --accept-env names it
// and it fits the bounds (maxClientEnv, maxClientEnvValue, maxClientEnvBytes); what it
// ignores is counted on connection.close (log_noise.go), not logged line by line.
func (sess *session) acceptEnv(name, value string) bool {
	var why string
	level := slog.LevelInfo
	switch size := len(name) + 1 + len(value); {
	case !acceptClientEnv(sess.srv.cfg.AcceptEnv, name, value):
		why, level = "not accepted (--accept-env)", slog.LevelDebug
	case len(sess.clientEnv) >= maxClientEnv:
		why = fmt.Sprintf("too many (at most %d a session)", maxClientEnv)
	case len(value) > maxClientEnvValue:
		why = fmt.Sprintf("value of %d bytes, longer than %d", len(value), maxClientEnvValue)
	case sess.clientEnvBytes+size > maxClientEnvBytes:
		why = fmt.Sprintf("the session's variables would exceed %d bytes", maxClientEnvBytes)
	case !sess.conn.reserveEnvBytes(size):
		why = fmt.Sprintf("the connection's sessions' variables would exceed %d bytes", maxConnectionEnvBytes)
	default:
		sess.clientEnv = append(sess.clientEnv, name+"="+value)
		sess.clientEnvBytes += size
		return true
	}
	sess.logNoise(noiseEnv, level, "ignored client variable", "name", clip(name, logNameMax), "reason", why)
	return false
}

// boundTerminalRequest refuses a pty-req whose TERM no terminal has, and keeps only
// the part of its modes that can mean anything.
func boundTerminalRequest(p *ptyRequest) error {
	if len(p.Term) > maxTermName {
		return fmt.Errorf("TERM of %d bytes, longer than %d", len(p.Term), maxTermName)
	}
	if len(p.Modes) > maxTerminalModes {
		p.Modes = p.Modes[:maxTerminalModes]
	}
	return nil
}

// reserveEnvBytes takes n bytes of the connection's budget for client variables; it
// reports false, taking nothing, when they do not fit. A nil connection (unit tests)
// has no budget of its own.
func (c *connection) reserveEnvBytes(n int) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.envBytes+n > maxConnectionEnvBytes {
		return false
	}
	c.envBytes += n
	return true
}

// releaseEnvBytes gives back a session's client variables once it has ended.
func (c *connection) releaseEnvBytes(n int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.envBytes -= n
	c.mu.Unlock()
}
