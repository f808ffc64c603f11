package agent

import (
	"context"
	"log/slog"
	"sync"
)

// noiseKind is a kind of log line that a logged-in client can make the agent write as
// often as it sends a request: 50,000 env requests past the cap wrote 6.8 MB of log in
// 2.1 s, where OpenSSH writes nothing. Each connection writes the first
// noiseLinesPerConnection lines of a kind (rate-limited across connections by
// logLimits), counts the rest, and reports every count once, on connection.close.
type noiseKind int

const (
	noiseEnv     noiseKind = iota // env requests ignored (not accepted, too many, too large)
	noiseRequest                  // session and global requests refused
	noiseChannel                  // channel opens refused (unknown type, too many)
	noiseForward                  // forwarding refused by policy, or failed
	noiseKinds
)

// noiseFields name each kind's count on connection.close.
var noiseFields = [noiseKinds]string{"env_ignored", "requests_refused", "channels_refused", "forwards_failed"}

// noiseLinesPerConnection is how many lines of one kind one connection writes.
const noiseLinesPerConnection = 5

// logLimits are the server-wide rate limits (logLimiter) of the lines a client can make
// the agent write at will: before login (no key needed) and, per noiseKind, after it.
type logLimits struct {
	open         logLimiter // connection.open before the handshake
	authReject   logLimiter // auth.reject
	loginRefused logLimiter // connection.close of a connection that never logged in
	noise        [noiseKinds]logLimiter
}

// noiseCounts counts one connection's lines of each noiseKind.
type noiseCounts struct {
	mu     sync.Mutex
	counts [noiseKinds]int
}

// logNoise counts a line of kind, and writes it if the connection has written fewer
// than noiseLinesPerConnection of that kind and the server-wide limit allows.
func (c *connection) logNoise(kind noiseKind, level slog.Level, msg string, args ...any) {
	c.noise.mu.Lock()
	c.noise.counts[kind]++
	n := c.noise.counts[kind]
	c.noise.mu.Unlock()
	if n <= noiseLinesPerConnection {
		c.srv.limits.noise[kind].Log(c.log, level, msg, args...)
	}
}

// noiseAttrs are the connection's counts for its connection.close line: one field per
// kind that occurred, with the number of times (logged or not).
func (c *connection) noiseAttrs() []any {
	c.noise.mu.Lock()
	defer c.noise.mu.Unlock()
	var attrs []any
	for k, n := range c.noise.counts {
		if n > 0 {
			attrs = append(attrs, noiseFields[k], n)
		}
	}
	return attrs
}

// logNoise is connection.logNoise for the session's connection; a session built
// without one (unit tests) logs every line.
func (sess *session) logNoise(kind noiseKind, level slog.Level, msg string, args ...any) {
	if sess.conn == nil {
		sess.log.Log(context.Background(), level, msg, args...)
		return
	}
	sess.conn.logNoise(kind, level, msg, args...)
}
