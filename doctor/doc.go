// Package doctor diagnoses, without changing anything, why logins to the account
// jobsshd would serve would fail: the account and its shell, the authorized_keys file
// and the generated id_container key as the agent would read them, the port, the host
// keys in the state directory, and what the agent's identity allows. Each check yields
// Findings (severity, what was found, how to fix it) that `jobsshd doctor` prints.
package doctor
