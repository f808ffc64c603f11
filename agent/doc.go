// Package agent is jobsshd's SSH server: it listens on the preferred port, authenticates
// the one account it serves by public key, runs that account's sessions (shell, exec,
// terminals, environment, signals, exit status) with the account's own credentials, and
// forwards TCP ports, unix sockets and the client's ssh-agent (forward_*.go), reaching and
// creating unix sockets as the account.
//
// In this package "agent" is jobsshd itself. The client's ssh-agent, which ssh -A
// forwards, is the auth agent: authAgentSocket, forward_auth_agent.go, forwardAuthAgent.
//
// Starting is two steps (plan.go): Resolve works out, without changing anything, what a
// Config amounts to (the account and credential, the container environment, job trust,
// the port policy, key sources, CAs, algorithms, and which files will be created where),
// and New acts on that Plan. `jobsshd doctor` checks the same plan through the same
// steps. What is not SSH lives elsewhere: the account (internal/account), the container
// environment (internal/environ), the orphan reaper (internal/reaper), the job trust
// decision (jobtrust.Decide) and the CA files (keys.LoadTrustedCAs).
//
// The server is built directly on golang.org/x/crypto/ssh. The session channel is handled
// here rather than through gliderlabs/ssh, whose session rewrites "\n" to "\r\n" under a
// pty (gliderlabs/ssh#129), reports exit 0 when a handler returns without calling Exit,
// and sends an exit status and closes the channel with no EOF before them; see session.go
// for the teardown order, and README "Design decisions" for the rest of the comparison.
package agent
