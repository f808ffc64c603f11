// Package web is the agent's HTTP side (--web): the terminal page and its WebSocket
// (/ and /terminal), SSH carried over a WebSocket (/ssh), the id_container downloads and
// /healthz. Everything except /healthz needs the web token (auth.go); WebSocket upgrades
// must also come from an allowed Origin (origin.go).
//
// The package does not import agent: it reaches the SSH server through the small
// interfaces in agent_api.go and terminal_api.go, which main wires to *agent.Server.
// What a browser or proxy sends is untrusted: request heads, bodies and WebSocket
// messages are bounded, and nothing a request does starts a program before the token
// was checked.
package web
