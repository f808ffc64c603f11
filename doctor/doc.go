// Package doctor diagnoses, without changing anything, why logins to the account
// jobsshd would serve would fail: the account and its shell, every key source (the
// authorized_keys files and inline key lines) and the generated id_container key as the
// agent would read them, the trusted user CA files and the job trust settings as the
// agent would load them, the port, the host keys in the state directory, and what the
// agent's identity allows. Each check yields Findings (severity, what was found, how to
// fix it) that `jobsshd doctor` prints.
//
// The rules are never repeated here: each check calls the step of the agent's plan
// (agent.Resolve) it is about, such as agent.CredentialFor, agent.DecideJobTrust,
// agent.PortPolicyFor with PortPolicy.Probe, keys.HostKeyFiles and keys.LoadTrustedCAs,
// and Run finally resolves the whole plan, so that a configuration error `jobsshd serve`
// exits 2 on is reported as a FAIL holding the same error.
package doctor
