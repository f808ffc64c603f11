package agent

import (
	"net"
	"strings"

	"jobsshd/internal/account"
)

// defaultPath is used when the container defines no PATH at all.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// endpoints are the two ends of a connection as SSH_CONNECTION reports them.
type endpoints struct{ clientHost, clientPort, serverHost, serverPort string }

func endpointsOf(remote, local net.Addr) endpoints {
	var e endpoints
	e.clientHost, e.clientPort, _ = net.SplitHostPort(remote.String())
	e.serverHost, e.serverPort, _ = net.SplitHostPort(local.String())
	return e
}

// sessionEnv is the environment of one session's process: the container's (already
// filtered by environ.Merge), then the variables a login sets (RFC 4254 §6.4 leaves the choice
// to the server; these are the ones OpenSSH sets, SSH_AUTH_SOCK when the session forwards
// an agent), then what the client sent and the server accepted.
func sessionEnv(container []string, acct *account.Account, term, tty, authSock string, ends endpoints, clientEnv []string) []string {
	path := defaultPath
	for _, kv := range container {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok && v != "" {
			path = v
		}
	}
	login := []string{
		"HOME=" + acct.Home,
		"USER=" + acct.Name,
		"LOGNAME=" + acct.Name,
		"SHELL=" + acct.Shell,
		"PATH=" + path,
		"SSH_CONNECTION=" + strings.Join([]string{ends.clientHost, ends.clientPort, ends.serverHost, ends.serverPort}, " "),
		"SSH_CLIENT=" + strings.Join([]string{ends.clientHost, ends.clientPort, ends.serverPort}, " "),
	}
	if term != "" {
		login = append(login, "TERM="+term)
	}
	if tty != "" {
		login = append(login, "SSH_TTY="+tty)
	}
	if authSock != "" {
		login = append(login, "SSH_AUTH_SOCK="+authSock)
	}
	return overlay(overlay(container, login), clientEnv)
}

// overlay is environ.Merge without the inheritance filter: the caller vouches for over.
func overlay(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if strings.HasPrefix(old, name+"=") {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// acceptClientEnv reports whether a client-sent variable is accepted (OpenSSH's
// AcceptEnv): its name matches one of patterns (a trailing '*' matches any suffix) and
// neither name nor value could smuggle a second variable or a NUL into the environment.
func acceptClientEnv(patterns []string, name, value string) bool {
	if name == "" || strings.ContainsAny(name, "=\x00") || strings.ContainsRune(value, 0) {
		return false
	}
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if name == p {
			return true
		}
	}
	return false
}
