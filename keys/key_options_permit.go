package keys

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// maxPermitHost is sshd's bound on a permitopen=/permitlisten= host (NI_MAXHOST - 1).
const maxPermitHost = 1024

// parseHostPort parses a permitopen= ("host:port") or, when listen is set, a
// permitlisten= ("[host:]port") value as sshd's handle_permit does. An IPv6 address is
// written in brackets ("[::1]:22"); "host/port" is accepted too, as sshd's hpdelim
// accepts it. The port is 1-65535 or "*". A permitlisten= value without ':' is a bare
// port, meaning any host: sshd rewrites it to "*:port".
func parseHostPort(s string, listen bool) (HostPort, error) {
	if listen && !strings.Contains(s, ":") {
		s = "*:" + s
	}
	var host, port string
	if rest, ok := strings.CutPrefix(s, "["); ok {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return HostPort{}, errors.New("missing ']' after a bracketed host")
		}
		host, rest = rest[:end], rest[end+1:]
		if rest == "" || rest[0] != ':' && rest[0] != '/' {
			return HostPort{}, errors.New("want ':port' after the bracketed host")
		}
		port = rest[1:]
	} else {
		i := strings.IndexAny(s, ":/")
		if i < 0 {
			return HostPort{}, errors.New("missing ':port' (an IPv6 address goes in brackets: [::1]:22)")
		}
		host, port = s[:i], s[i+1:]
	}
	if host == "" {
		return HostPort{}, errors.New("empty host")
	}
	if len(host) > maxPermitHost {
		return HostPort{}, errors.New("host longer than 1024 bytes")
	}
	p, err := parsePermitPort(port)
	if err != nil {
		return HostPort{}, err
	}
	return HostPort{Host: host, Port: p}, nil
}

// parsePermitPort returns a port 1-65535, or -1 for "*". Port 0 is refused, as sshd
// refuses it: "*" is how a line allows the dynamically allocated port of "ssh -R 0:...".
func parsePermitPort(s string) (int, error) {
	if s == "*" {
		return -1, nil
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New(`port must be a number 1-65535 or "*"`)
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, errors.New(`port must be a number 1-65535 or "*"`)
	}
	return p, nil
}

// String returns hp as a permitopen=/permitlisten= value: "host:port", with the host in
// brackets when it contains ':' or '/' or starts with '[', and "*" for any port.
func (hp HostPort) String() string {
	port := "*"
	if hp.Port >= 0 {
		port = strconv.Itoa(hp.Port)
	}
	if strings.ContainsAny(hp.Host, ":/") || strings.HasPrefix(hp.Host, "[") {
		return "[" + hp.Host + "]:" + port
	}
	return hp.Host + ":" + port
}

// PermitsOpen reports whether a local forward (a "direct-tcpip" channel, ssh -L) to
// host:port is allowed: never when NoPortForwarding is set; otherwise always when
// PermitOpen is nil, else when an entry has the port (or "*") and the host. As in sshd,
// the host is compared as a literal string, with no name lookup and no patterns, so
// permitopen="localhost:80" does not allow "127.0.0.1"; unlike sshd the comparison
// ignores case (host names are case-insensitive). Host "*" matches any host, as in
// sshd's open_match.
func (o KeyOptions) PermitsOpen(host string, port uint32) bool {
	if o.NoPortForwarding {
		return false
	}
	if o.PermitOpen == nil {
		return true
	}
	for _, p := range o.PermitOpen {
		if (p.Port < 0 || uint32(p.Port) == port) && (p.Host == "*" || strings.EqualFold(p.Host, host)) {
			return true
		}
	}
	return false
}

// PermitsListen reports whether a remote forward ("tcpip-forward", ssh -R) listening on
// host:port is allowed: never when NoPortForwarding is set; otherwise always when
// PermitListen is nil, else when an entry has the port (or "*") and a host pattern
// ('*' and '?' wildcards, case-insensitive) matching host as the client sent it. As
// sshd's man page warns, OpenSSH's client sends "localhost" when the user gave no
// address, and that is a different string from "127.0.0.1" or "::1". Port 0 (any free
// port) is allowed only by a "*" port.
func (o KeyOptions) PermitsListen(host string, port uint32) bool {
	if o.NoPortForwarding {
		return false
	}
	if o.PermitListen == nil {
		return true
	}
	host = strings.ToLower(host)
	for _, p := range o.PermitListen {
		if (p.Port < 0 || uint32(p.Port) == port) && matchPattern(host, strings.ToLower(p.Host)) {
			return true
		}
	}
	return false
}

// PermitsFrom reports whether a client at addr, whose verified host name is hostname
// ("" when unknown), may use the key: every From list must match it (MatchFrom); nil
// From permits every source.
func (o KeyOptions) PermitsFrom(addr netip.Addr, hostname string) bool {
	for _, patterns := range o.From {
		if !MatchFrom(patterns, addr, hostname) {
			return false
		}
	}
	return true
}
