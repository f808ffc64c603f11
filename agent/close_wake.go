package agent

// Dropbear's client (dbclient, up to at least 2022.83) can hang after its last channel
// closed. Its main loop (src/common-session.c, session_loop) runs its exit check
// (loophandler, cli_sessionloop: exit once no channel is left) before channelio, and
// channelio is where a channel whose close was held back is finally removed: when our
// CHANNEL_CLOSE arrives while dbclient still has output it could not write (its stdout
// is a pipe whose reader is slow: `dbclient host cat big | slow`), it writes that
// output, answers with its own CLOSE and removes the channel in channelio, then blocks
// in select until the server sends something more. An SSH server sends nothing after
// the close exchange, so dbclient waits for our next keepalive probe (60 s by default)
// or its own rekey timer (8 h). Any packet wakes it, and it then exits at once with
// the command's status.
//
// So once a client closed a session channel (the requests channel ends when its CLOSE
// arrives), the agent sends one keepalive@openssh.com probe, as probeClient does: a
// request every client already answers (RFC 4254 §4: a failure for an unknown one).
// At most one such probe is in flight per connection, so a client that never answers
// holds one goroutine, until probeClient or the transport ends the connection.

// wakeAfterChannelClose sends the probe described above unless one is in flight or the
// connection is ending. Only the connection's own (counted) goroutines call it.
func (c *connection) wakeAfterChannelClose() {
	if c.ctx.Err() != nil {
		return
	}
	if !c.closeWake.CompareAndSwap(false, true) {
		return
	}
	c.spawn(func() {
		defer c.closeWake.Store(false)
		_, _, _ = c.conn.SendRequest("keepalive@openssh.com", true, nil) // fails once the client left: nothing to do
	})
}
