package keys

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// HostPort is one permitopen= or permitlisten= entry: the host as written (an IPv6
// address without its brackets) and the port, -1 for "*" (any port). Host "*" matches
// any host.
type HostPort struct {
	Host string
	Port int
}

// KeyOptions are the options of one authorized_keys line, interpreted as sshd(8)
// ("AUTHORIZED_KEYS FILE FORMAT") does. The zero value is a line without options: no
// restriction at all.
//
// The flags are the outcome of the options applied left to right, as sshd applies
// them: "restrict" sets all five, and a later "pty", "port-forwarding",
// "agent-forwarding", "X11-forwarding" or "user-rc" clears one again. So
// "restrict,pty" allows a terminal and "pty,restrict" does not; a "no-pty" and a "pty"
// likewise count in the order written.
type KeyOptions struct {
	// From holds the from="pattern-list" value, a list for MatchFrom; nil means any
	// source. sshd refuses a line with two from= options, and so does ParseKeyOptions,
	// so From has at most one entry; callers still require all entries to match
	// (PermitsFrom does).
	From []string
	// Command is the command="..." forced command, run instead of whatever the client
	// asked for. HasCommand says it was given: command="" is a forced empty command,
	// not the absence of one, so test HasCommand, never Command != "".
	Command    string
	HasCommand bool
	// NoPTY etc. forbid a terminal, TCP and unix-socket forwarding (sshd's
	// port-forwarding flag covers both), agent forwarding, X11 forwarding and running
	// ~/.ssh/rc.
	NoPTY, NoPortForwarding, NoAgentForwarding, NoX11Forwarding, NoUserRC bool
	// PermitOpen lists the permitopen= destinations of local forwards (ssh -L); nil
	// means any destination.
	PermitOpen []HostPort
	// PermitListen lists the permitlisten= addresses of remote forwards (ssh -R); nil
	// means any. A bare port ("8080") is Host "*", as in sshd: where the port is bound
	// is then up to the gateway-ports setting (loopback unless it is on).
	PermitListen []HostPort
	// Environment holds the environment="NAME=value" settings in the order written;
	// only the first one of each name is kept, as sshd does. The caller applies them
	// only when user environments are permitted (sshd's PermitUserEnvironment).
	Environment []string
	// ExpiryTime is the earliest expiry-time= given; the zero time means none.
	ExpiryTime time.Time
	// CertAuthority marks the key as a certificate authority: it authenticates
	// certificates it signed, never itself.
	CertAuthority bool
	// Principals is the principals="a,b" list, which a certificate signed by a
	// CertAuthority key must name one of; meaningless without CertAuthority (sshd
	// accepts it there and ignores it).
	Principals []string
	// NoTouchRequired is no-touch-required: signatures of a security key
	// (sk-ecdsa-sha2-nistp256@openssh.com, sk-ssh-ed25519@openssh.com) need not assert
	// that the user touched it. x/crypto/ssh honours it when the authentication
	// callback returns it as the "no-touch-required" extension.
	NoTouchRequired bool
}

// OptionError is an authorized_keys option ParseKeyOptions refused. It names the
// option but does not repeat its value, which may hold a secret (a token in a forced
// command) and ends up in logs; a from= entry is named by its position.
type OptionError struct {
	Option string // the option's name as written, cut to 32 bytes
	Err    error  // what is wrong with it
}

// Error returns `option "name": reason`.
func (e *OptionError) Error() string { return fmt.Sprintf("option %q: %v", e.Option, e.Err) }

// Unwrap returns the reason.
func (e *OptionError) Unwrap() error { return e.Err }

// ParseKeyOptions interprets the options of an authorized_keys line, as
// ssh.ParseAuthorizedKey returns them: `from="10.0.0.0/8"`, `no-pty`, with quoted values
// still quoted and `\"` escaped. Option names are case-insensitive; expiry-time
// without a trailing Z is local time.
//
// An option that is unknown, malformed, repeated where sshd refuses repetition
// (command=, from=, principals=) or given without a value it needs, is an
// *OptionError naming it, so that the line is refused as sshd refuses it; so are
// verify-required and tunnel=, which jobsshd cannot honour, rather than a key being
// accepted with fewer restrictions than its line asks for.
func ParseKeyOptions(opts []string) (KeyOptions, error) {
	return parseKeyOptions(opts, time.Local)
}

// parseKeyOptions is ParseKeyOptions with expiry times read in loc.
func parseKeyOptions(opts []string, loc *time.Location) (KeyOptions, error) {
	var o KeyOptions
	for _, opt := range opts {
		name, raw, hasValue := strings.Cut(opt, "=")
		if err := o.apply(strings.ToLower(name), raw, hasValue, loc); err != nil {
			if len(name) > 32 {
				name = name[:32]
			}
			return KeyOptions{}, &OptionError{Option: name, Err: err}
		}
	}
	return o, nil
}

// apply applies one option, whose lower-cased name is name and whose still quoted
// value is raw.
func (o *KeyOptions) apply(name, raw string, hasValue bool, loc *time.Location) error {
	switch name {
	case "command", "from", "environment", "permitopen", "permitlisten", "expiry-time", "principals":
		if !hasValue {
			return fmt.Errorf(`needs a value: %s="..."`, name)
		}
		value, err := dequote(raw)
		if err != nil {
			return err
		}
		return o.applyValue(name, value, loc)
	case "tunnel":
		return errors.New("not supported: jobsshd has no tunnel-device forwarding; remove the option")
	}
	base, negated := strings.CutPrefix(name, "no-")
	switch base {
	case "restrict", "cert-authority", "pty", "port-forwarding", "agent-forwarding", "x11-forwarding", "user-rc", "touch-required", "verify-required":
	default:
		return errors.New("unknown option (see AUTHORIZED_KEYS FILE FORMAT in sshd(8))")
	}
	if hasValue {
		return errors.New("takes no value")
	}
	switch base {
	case "restrict", "cert-authority":
		if negated {
			return fmt.Errorf("unknown option (there is no no- form of %s)", base)
		}
		if base == "cert-authority" {
			o.CertAuthority = true
			break
		}
		// sshd's restrict: everything off that the re-enabling flags can turn back on.
		o.NoPTY, o.NoPortForwarding, o.NoAgentForwarding, o.NoX11Forwarding, o.NoUserRC = true, true, true, true, true
	case "pty":
		o.NoPTY = negated
	case "port-forwarding":
		o.NoPortForwarding = negated
	case "agent-forwarding":
		o.NoAgentForwarding = negated
	case "x11-forwarding":
		o.NoX11Forwarding = negated
	case "user-rc":
		o.NoUserRC = negated
	case "touch-required":
		o.NoTouchRequired = negated
	case "verify-required":
		if !negated {
			// The user-verification flag of a security-key signature is not
			// visible to the authentication callback; accepting the option
			// would silently drop the requirement.
			return errors.New("not supported: jobsshd cannot check security-key user verification; remove the option")
		}
	}
	return nil
}

// applyValue applies an option that takes a value, already unquoted.
func (o *KeyOptions) applyValue(name, value string, loc *time.Location) error {
	if strings.ContainsAny(value, "\x00\n") {
		// Neither can come from an authorized_keys line, and either would cut a
		// command or an environment string short further on.
		return errors.New("value contains a NUL byte or a line break")
	}
	if value == "" && name != "command" {
		// command="" is a forced empty command, as in sshd; for the others an
		// empty value is a mistake that would otherwise match nothing or everything.
		return errors.New("empty value")
	}
	switch name {
	case "command":
		if o.HasCommand {
			return errors.New("given twice (sshd refuses such a line too)")
		}
		o.Command, o.HasCommand = value, true
	case "from":
		if o.From != nil {
			return errors.New("given twice (sshd refuses such a line too); merge the pattern lists into one from=")
		}
		if _, err := parseFromList(value); err != nil {
			return err
		}
		o.From = []string{value}
	case "environment":
		return o.addEnvironment(value)
	case "permitopen", "permitlisten":
		hp, err := parseHostPort(value, name == "permitlisten")
		if err != nil {
			return err
		}
		if name == "permitopen" {
			o.PermitOpen = append(o.PermitOpen, hp)
		} else {
			o.PermitListen = append(o.PermitListen, hp)
		}
	case "expiry-time":
		t, err := parseExpiryTime(value, loc)
		if err != nil {
			return err
		}
		if o.ExpiryTime.IsZero() || t.Before(o.ExpiryTime) {
			o.ExpiryTime = t
		}
	case "principals":
		if o.Principals != nil {
			return errors.New("given twice (sshd refuses such a line too)")
		}
		principals := strings.Split(value, ",")
		for i, p := range principals {
			if p == "" {
				return fmt.Errorf("principal %d of %d is empty", i+1, len(principals))
			}
		}
		o.Principals = principals
	}
	return nil
}

// addEnvironment records environment="NAME=value". Names are letters, digits and '_'
// as sshd's valid_env_name allows; the first setting of a name wins, as in sshd.
func (o *KeyOptions) addEnvironment(value string) error {
	envName, _, ok := strings.Cut(value, "=")
	if !ok {
		return errors.New(`value must be NAME=value`)
	}
	if envName == "" || strings.TrimFunc(envName, isEnvNameChar) != "" {
		return errors.New("variable name must be one or more ASCII letters, digits or '_'")
	}
	for _, kv := range o.Environment {
		if strings.HasPrefix(kv, envName+"=") {
			return nil
		}
	}
	o.Environment = append(o.Environment, value)
	return nil
}

func isEnvNameChar(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// dequote returns the value of a quoted option value as sshd's opt_dequote reads it:
// it must start with '"' and end at the first '"' not preceded by '\', and `\"` stands
// for '"'; any other backslash is kept as it is.
func dequote(raw string) (string, error) {
	if !strings.HasPrefix(raw, `"`) {
		return "", errors.New(`value must be in double quotes`)
	}
	var b strings.Builder
	for i := 1; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '\\' && i+1 < len(raw) && raw[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			if i != len(raw)-1 {
				return "", errors.New("text after the closing quote (a missing comma?)")
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("missing closing quote")
}
