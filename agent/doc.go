// Package agent is jobsshd's SSH server: it listens on the preferred port, authenticates
// the one account it serves by public key, runs that account's sessions (shell, exec,
// terminals, environment, signals, exit status) with the account's own credentials, and
// forwards TCP ports, unix sockets and the client's ssh-agent (forward_*.go), reaching and
// creating unix sockets as the account.
//
// In this package "agent" is jobsshd itself. The client's ssh-agent, which ssh -A
// forwards, is the auth agent: authAgentSocket, forward_auth_agent.go, forwardAuthAgent.
//
// The server is built directly on golang.org/x/crypto/ssh. The session channel is handled
// here rather than through gliderlabs/ssh, whose session rewrites "\n" to "\r\n" under a
// pty (gliderlabs/ssh#129), reports exit 0 when a handler returns without calling Exit,
// and sends an exit status and closes the channel with no EOF before them; see session.go
// for the teardown order, and README "Design decisions" for the rest of the comparison.
package agent
