// Package proxy is the laptop side of web access (`jobsshd proxy`): it carries SSH
// connections to an agent's /ssh WebSocket, either one over stdin and stdout (an
// OpenSSH ProxyCommand) or one per TCP connection accepted on a local port (for PuTTY,
// WinSCP and FileZilla, which cannot run a ProxyCommand). It is plain Go without the
// agent's Linux-only code, so that it builds for linux, darwin and windows.
package proxy
