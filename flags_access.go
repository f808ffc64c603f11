//go:build linux

package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"jobsshd/agent"
)

// accessOptions are the serve flags that decide who gets in and how much they may use:
// key sources, certificates, source addresses and limits.
type accessOptions struct {
	authorizedKeysFiles   stringList
	trustedUserCAs        stringList
	allowCIDRs            prefixList
	permitUserEnvironment bool
	algorithms            string

	maxUnauthenticated int
	// maxUnauthenticatedPerSource is 0, off, by default: behind a relay every user
	// has the relay's address.
	maxUnauthenticatedPerSource int
	maxAuthTries                int
	maxConnections              int
	maxSessions                 int
	maxChannels                 int
	loginGraceTime              time.Duration
	clientAliveInterval         time.Duration
	clientAliveCountMax         int
}

// inlineKeysVariable (agent.InlineKeysVariable) holds authorized_keys lines given
// inline by the platform. It is not the variable of --authorized-keys (which names
// files): a platform passes keys, not paths, through the environment.
const inlineKeysVariable = agent.InlineKeysVariable

// flagsWithoutVariable are flags whose JOBSSHD_<FLAG> name means something else.
var flagsWithoutVariable = map[string]bool{"authorized-keys": true}

func (a *accessOptions) register(fs *flag.FlagSet) {
	fs.Var(&a.authorizedKeysFiles, "authorized-keys", "another authorized_keys file to accept keys from, e.g. one the platform mounts (repeatable); "+inlineKeysVariable+" holds key lines inline")
	fs.Var(&a.trustedUserCAs, "trusted-user-ca", "file of CA public keys whose user certificates naming the account may log in (repeatable or comma separated)")
	fs.Var(&a.allowCIDRs, "allow-cidr", "only serve clients from these networks, comma separated (e.g. 10.0.0.0/8,fd00::/8); others are closed before the handshake")
	fs.BoolVar(&a.permitUserEnvironment, "permit-user-environment", false, "apply environment=\"NAME=value\" options of authorized_keys lines")
	fs.StringVar(&a.algorithms, "algorithms", agent.AlgorithmsDefault, "algorithm profile: "+agent.AlgorithmsDefault+" (every supported client, incl. curl sftp:// and dbclient) or "+agent.AlgorithmsStrict+" (only what ssh-audit passes without a warning)")
	fs.IntVar(&a.maxUnauthenticated, "max-unauthenticated", agent.DefaultMaxUnauthenticated, "connections that have not logged in yet, at most; more are refused at once")
	fs.IntVar(&a.maxUnauthenticatedPerSource, "max-unauthenticated-per-source", 0, "connections that have not logged in yet from one address (one /64 for IPv6), at most; 0: no such bound (the default: behind a relay every user has the relay's address)")
	fs.IntVar(&a.maxAuthTries, "max-auth-tries", agent.DefaultMaxAuthTries, "keys a client may try on one connection")
	fs.IntVar(&a.maxConnections, "max-connections", agent.DefaultMaxConnections, "connections at once, at most")
	fs.IntVar(&a.maxSessions, "max-sessions", agent.DefaultMaxSessions, "sessions (shells, commands, transfers) at once on one connection")
	fs.IntVar(&a.maxChannels, "max-channels", agent.DefaultMaxChannels, "sessions and forwarded connections at once on all connections; each may hold up to 2 MiB of the agent's memory")
	fs.DurationVar(&a.loginGraceTime, "login-grace-time", agent.DefaultHandshakeTimeout, "time from connect to logged in, at most")
	fs.DurationVar(&a.clientAliveInterval, "client-alive-interval", agent.DefaultClientAliveInterval, "ask logged-in clients for a sign of life this often; 0 turns probes off")
	fs.IntVar(&a.clientAliveCountMax, "client-alive-count-max", agent.DefaultClientAliveCountMax, "unanswered probes in a row after which a client is dropped")
}

// check rejects values that cannot work.
func (a *accessOptions) check() error {
	for _, l := range []struct {
		name string
		v    int
	}{{"max-unauthenticated", a.maxUnauthenticated}, {"max-auth-tries", a.maxAuthTries}, {"max-connections", a.maxConnections},
		{"max-sessions", a.maxSessions}, {"max-channels", a.maxChannels}, {"client-alive-count-max", a.clientAliveCountMax}} {
		if l.v < 1 {
			return fmt.Errorf("--%s %d: use 1 or more", l.name, l.v)
		}
	}
	if a.maxUnauthenticatedPerSource < 0 {
		return fmt.Errorf("--max-unauthenticated-per-source %d: use 1 or more, or 0 for no per-address bound", a.maxUnauthenticatedPerSource)
	}
	if a.algorithms != agent.AlgorithmsDefault && a.algorithms != agent.AlgorithmsStrict {
		return fmt.Errorf("--algorithms %q: use %s or %s", a.algorithms, agent.AlgorithmsDefault, agent.AlgorithmsStrict)
	}
	if a.loginGraceTime <= 0 {
		return fmt.Errorf("--login-grace-time %s: use a positive duration such as 30s", a.loginGraceTime)
	}
	if a.clientAliveInterval < 0 {
		return fmt.Errorf("--client-alive-interval %s: use a duration such as 60s, or 0 to turn probes off", a.clientAliveInterval)
	}
	return nil
}

// apply copies the options into cfg; inlineKeys is the value of inlineKeysVariable.
func (a *accessOptions) apply(cfg *agent.Config, inlineKeys string) {
	cfg.AuthorizedKeysFiles = a.authorizedKeysFiles
	cfg.AuthorizedKeys = inlineKeys
	cfg.TrustedUserCAFiles = a.trustedUserCAs
	cfg.AllowCIDRs = a.allowCIDRs
	cfg.PermitUserEnvironment = a.permitUserEnvironment
	cfg.Algorithms = a.algorithms
	cfg.MaxUnauthenticated = a.maxUnauthenticated
	cfg.MaxUnauthenticatedPerSource = a.maxUnauthenticatedPerSource
	cfg.MaxAuthTries = a.maxAuthTries
	cfg.MaxConnections = a.maxConnections
	cfg.MaxSessions = a.maxSessions
	cfg.MaxChannels = a.maxChannels
	cfg.HandshakeTimeout = a.loginGraceTime
	cfg.ClientAliveInterval = a.clientAliveInterval
	cfg.DisableClientAlive = a.clientAliveInterval == 0
	cfg.ClientAliveCountMax = a.clientAliveCountMax
}

// stringList is a repeatable flag; each value may also list several, comma separated.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// prefixList is a repeatable flag of comma separated CIDR prefixes; a bare address
// stands for itself alone.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	var s []string
	for _, p := range *l {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("%q is not an address or CIDR prefix (e.g. 10.0.0.0/8, 192.168.1.5, fd00::/8)", s)
			}
			*l = append(*l, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR prefix (e.g. 10.0.0.0/8, fd00::/8)", s)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses: give the IPv4 networks as IPv4 (e.g. 10.0.0.0/8)", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		*l = append(*l, p.Masked())
	}
	return nil
}
