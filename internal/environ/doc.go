// Package environ builds the container environment every session starts from: PID 1's
// environment (what the platform injected) overlaid with jobsshd's own, minus jobsshd's
// settings and per-process variables. It knows nothing of SSH: the variables a login
// sets and those a client sends are added by the agent (agent/env.go).
package environ
