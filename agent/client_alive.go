package agent

import "time"

// probeClient asks the client for a sign of life every ClientAliveInterval (OpenSSH's
// ClientAliveInterval) and closes the connection after ClientAliveCountMax probes in a
// row went unanswered, so that a client that vanished (a laptop that went to sleep
// behind a relay, which keeps the TCP connection open) does not keep its sessions and
// forwards forever. Any reply counts, failure included: clients answer the
// keepalive@openssh.com request they do not know with a failure (RFC 4254 §4).
func (c *connection) probeClient() {
	interval, maxMissed := c.srv.cfg.ClientAliveInterval, c.srv.cfg.ClientAliveCountMax
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-c.ctx.Done():
			return
		case err := <-replies:
			pending = false
			if err != nil {
				return // the connection ended
			}
			missed = 0
		case <-ticker.C:
			if pending {
				missed++
				if missed >= maxMissed {
					c.log.Info("client did not answer keepalive probes; closing the connection",
						"event", "connection.timeout", "probes", missed, "interval", interval.String())
					_ = c.conn.Close() // ends the transport, hence chans, hence serve
					return
				}
				continue
			}
			pending = true
			c.spawn(func() {
				_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			})
		}
	}
}
