package keys

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testZone is the local time zone of the expiry-time tests: not UTC, so that a local
// time read as UTC (or the reverse) shows.
var testZone = time.FixedZone("UTC+2", 2*60*60)

func TestParseKeyOptions(t *testing.T) {
	t.Parallel()
	allOff := KeyOptions{NoPTY: true, NoPortForwarding: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}
	with := func(f func(*KeyOptions)) KeyOptions { o := allOff; f(&o); return o }
	tests := []struct {
		name string
		opts []string
		want KeyOptions
	}{
		{name: "none", opts: nil, want: KeyOptions{}},
		{name: "no-pty", opts: []string{"no-pty"}, want: KeyOptions{NoPTY: true}},
		{name: "no-port-forwarding", opts: []string{"no-port-forwarding"}, want: KeyOptions{NoPortForwarding: true}},
		{name: "no-agent-forwarding", opts: []string{"no-agent-forwarding"}, want: KeyOptions{NoAgentForwarding: true}},
		{name: "no-X11-forwarding", opts: []string{"no-X11-forwarding"}, want: KeyOptions{NoX11Forwarding: true}},
		{name: "no-user-rc", opts: []string{"no-user-rc"}, want: KeyOptions{NoUserRC: true}},
		{name: "names ignore case", opts: []string{"NO-PTY", "No-Port-Forwarding", "Cert-Authority", `COMMAND="x"`}, want: KeyOptions{NoPTY: true, NoPortForwarding: true, CertAuthority: true, Command: "x", HasCommand: true}},
		{name: "restrict", opts: []string{"restrict"}, want: allOff},
		{name: "restrict then pty", opts: []string{"restrict", "pty"}, want: with(func(o *KeyOptions) { o.NoPTY = false })},
		{name: "pty then restrict", opts: []string{"pty", "restrict"}, want: allOff},
		{name: "restrict then port-forwarding", opts: []string{"restrict", "port-forwarding"}, want: with(func(o *KeyOptions) { o.NoPortForwarding = false })},
		{name: "restrict then agent-forwarding", opts: []string{"restrict", "agent-forwarding"}, want: with(func(o *KeyOptions) { o.NoAgentForwarding = false })},
		{name: "restrict then X11-forwarding", opts: []string{"restrict", "X11-forwarding"}, want: with(func(o *KeyOptions) { o.NoX11Forwarding = false })},
		{name: "restrict then user-rc", opts: []string{"restrict", "user-rc"}, want: with(func(o *KeyOptions) { o.NoUserRC = false })},
		{name: "user-rc then restrict", opts: []string{"user-rc", "restrict"}, want: allOff},
		{name: "restrict then every re-enable", opts: []string{"restrict", "pty", "port-forwarding", "agent-forwarding", "x11-forwarding", "user-rc"}, want: KeyOptions{}},
		{name: "no-pty then pty", opts: []string{"no-pty", "pty"}, want: KeyOptions{}},
		{name: "pty then no-pty", opts: []string{"pty", "no-pty"}, want: KeyOptions{NoPTY: true}},
		{name: "command", opts: []string{`command="echo \"hi, there\""`}, want: KeyOptions{Command: `echo "hi, there"`, HasCommand: true}},
		{name: "command keeps other backslashes", opts: []string{`command="printf 'a\\tb\n'"`}, want: KeyOptions{Command: `printf 'a\\tb\n'`, HasCommand: true}},
		{name: "empty command is a forced command", opts: []string{`command=""`}, want: KeyOptions{HasCommand: true}},
		{name: "from", opts: []string{`from="10.0.0.0/8,!10.1.*,*.example.org"`}, want: KeyOptions{From: []string{"10.0.0.0/8,!10.1.*,*.example.org"}}},
		{name: "environment in order, first of a name wins", opts: []string{`environment="LANG=C.UTF-8"`, `environment="A_1=x=y"`, `environment="LANG=C"`, `environment="EMPTY="`},
			want: KeyOptions{Environment: []string{"LANG=C.UTF-8", "A_1=x=y", "EMPTY="}}},
		{name: "permitopen", opts: []string{`permitopen="localhost:8888"`, `permitopen="[::1]:22"`, `permitopen="db.internal:*"`, `permitopen="10.0.0.1/443"`},
			want: KeyOptions{PermitOpen: []HostPort{{"localhost", 8888}, {"::1", 22}, {"db.internal", -1}, {"10.0.0.1", 443}}}},
		{name: "permitopen any host", opts: []string{`permitopen="*:80"`}, want: KeyOptions{PermitOpen: []HostPort{{"*", 80}}}},
		{name: "permitlisten", opts: []string{`permitlisten="8080"`, `permitlisten="localhost:9000"`, `permitlisten="[::1]:*"`, `permitlisten="*:7000"`, `permitlisten="*"`},
			want: KeyOptions{PermitListen: []HostPort{{"*", 8080}, {"localhost", 9000}, {"::1", -1}, {"*", 7000}, {"*", -1}}}},
		{name: "expiry date, local", opts: []string{`expiry-time="20300102"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 2, 0, 0, 0, 0, testZone)}},
		{name: "expiry minutes, local", opts: []string{`expiry-time="203001021504"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 2, 15, 4, 0, 0, testZone)}},
		{name: "expiry seconds, local", opts: []string{`expiry-time="20300102150405"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 2, 15, 4, 5, 0, testZone)}},
		{name: "expiry Z", opts: []string{`expiry-time="20300102150405Z"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)}},
		{name: "expiry lower-case z", opts: []string{`expiry-time="203001021504z"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 2, 15, 4, 0, 0, time.UTC)}},
		{name: "expiry UTC suffix", opts: []string{`expiry-time="20300102UTC"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "earliest expiry wins", opts: []string{`expiry-time="20310101"`, `expiry-time="20300101Z"`, `expiry-time="20320101"`}, want: KeyOptions{ExpiryTime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "cert-authority with principals", opts: []string{"cert-authority", `principals="alice,ops team"`}, want: KeyOptions{CertAuthority: true, Principals: []string{"alice", "ops team"}}},
		{name: "principals alone", opts: []string{`principals="alice"`}, want: KeyOptions{Principals: []string{"alice"}}},
		{name: "no-touch-required", opts: []string{"no-touch-required"}, want: KeyOptions{NoTouchRequired: true}},
		{name: "touch-required after no-touch-required", opts: []string{"no-touch-required", "touch-required"}, want: KeyOptions{}},
		{name: "no-verify-required is the default", opts: []string{"no-verify-required"}, want: KeyOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseKeyOptions(tt.opts, testZone)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.opts, err)
			}
			if !got.ExpiryTime.Equal(tt.want.ExpiryTime) {
				t.Errorf("parse %q: got ExpiryTime %v, want %v", tt.opts, got.ExpiryTime, tt.want.ExpiryTime)
			}
			got.ExpiryTime, tt.want.ExpiryTime = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parse %q:\n got %+v\nwant %+v", tt.opts, got, tt.want)
			}
		})
	}
}

// keyOptionsRefusals are TestParseKeyOptionsRefuses's cases: options that parseKeyOptions
// refuses, the option the error names and part of its reason.
var keyOptionsRefusals = []struct {
	name       string
	opts       []string
	wantOption string // named in the error
	wantErr    string // part of the reason
}{
	{"unknown flag", []string{"no-pty", "no-such-thing"}, "no-such-thing", "unknown option"},
	{"unknown valued", []string{`colour="red"`}, "colour", "unknown option"},
	{"no- form of restrict", []string{"no-restrict"}, "no-restrict", "no no- form"},
	{"no- form of cert-authority", []string{"no-cert-authority"}, "no-cert-authority", "no no- form"},
	{"flag with a value", []string{`no-pty="yes"`}, "no-pty", "takes no value"},
	{"restrict with a value", []string{`restrict="1"`}, "restrict", "takes no value"},
	{"command without value", []string{"command"}, "command", "needs a value"},
	{"command unquoted", []string{"command=ls"}, "command", "double quotes"},
	{"command unterminated", []string{`command="ls`}, "command", "missing closing quote"},
	{"command escaped last quote", []string{`command="ls\"`}, "command", "missing closing quote"},
	{"command text after quote", []string{`command="ls"x`}, "command", "after the closing quote"},
	{"command twice", []string{`command="a"`, `command="a"`}, "command", "given twice"},
	{"command with NUL", []string{"command=\"a\x00b\""}, "command", "NUL"},
	{"from with a line break", []string{"from=\"a\nb\""}, "from", "line break"},
	{"from empty", []string{`from=""`}, "from", "empty value"},
	{"from twice", []string{`from="10.0.0.0/8"`, `from="*.example.org"`}, "from", "given twice"},
	{"from empty entry", []string{`from="10.0.0.1,,10.0.0.2"`}, "from", "entry 2 of 3 is empty"},
	{"from lone negation", []string{`from="!"`}, "from", "entry 1 of 1 is empty"},
	{"from host bits set", []string{`from="10.0.0.1/8"`}, "from", "did you mean 10.0.0.0/8"},
	{"from mask too long", []string{`from="10.0.0.0/33"`}, "from", "not a CIDR block"},
	{"from v6 mask too long", []string{`from="fd00::/129"`}, "from", "not a CIDR block"},
	{"from slash junk", []string{`from="!10.0.0.0/abc"`}, "from", "not a CIDR block"},
	{"environment no equals", []string{`environment="LANG"`}, "environment", "NAME=value"},
	{"environment empty name", []string{`environment="=x"`}, "environment", "variable name"},
	{"environment bad name", []string{`environment="MY-VAR=x"`}, "environment", "variable name"},
	{"environment space in name", []string{`environment="A B=x"`}, "environment", "variable name"},
	{"environment empty", []string{`environment=""`}, "environment", "empty value"},
	{"permitopen bare port", []string{`permitopen="8080"`}, "permitopen", "missing ':port'"},
	{"permitopen empty host", []string{`permitopen=":22"`}, "permitopen", "empty host"},
	{"permitopen empty brackets", []string{`permitopen="[]:22"`}, "permitopen", "empty host"},
	{"permitopen bare IPv6", []string{`permitopen="::1:22"`}, "permitopen", "empty host"},
	{"permitopen unbracketed IPv6", []string{`permitopen="fe80::1:22"`}, "permitopen", "port must be"},
	{"permitopen unclosed bracket", []string{`permitopen="[::1:22"`}, "permitopen", "missing ']'"},
	{"permitopen text after bracket", []string{`permitopen="[::1]x:22"`}, "permitopen", "after the bracketed host"},
	{"permitopen no port after bracket", []string{`permitopen="[::1]"`}, "permitopen", "after the bracketed host"},
	{"permitopen port zero", []string{`permitopen="host:0"`}, "permitopen", "port must be"},
	{"permitopen port too big", []string{`permitopen="host:65536"`}, "permitopen", "port must be"},
	{"permitopen port sign", []string{`permitopen="host:+22"`}, "permitopen", "port must be"},
	{"permitopen port name", []string{`permitopen="host:ssh"`}, "permitopen", "port must be"},
	{"permitopen empty port", []string{`permitopen="host:"`}, "permitopen", "port must be"},
	{"permitopen empty", []string{`permitopen=""`}, "permitopen", "empty value"},
	{"permitopen host too long", []string{`permitopen="` + strings.Repeat("h", 1025) + `:22"`}, "permitopen", "longer than 1024"},
	{"permitlisten bad port", []string{`permitlisten="80a"`}, "permitlisten", "port must be"},
	{"permitlisten port zero", []string{`permitlisten="0"`}, "permitlisten", "port must be"},
	{"permitlisten empty host", []string{`permitlisten=":80"`}, "permitlisten", "empty host"},
	{"expiry bad length", []string{`expiry-time="2030010"`}, "expiry-time", "malformed time"},
	{"expiry letters", []string{`expiry-time="2030O102"`}, "expiry-time", "malformed time"},
	{"expiry sign", []string{`expiry-time="+0300102"`}, "expiry-time", "malformed time"},
	{"expiry only Z", []string{`expiry-time="Z"`}, "expiry-time", "malformed time"},
	{"expiry month 13", []string{`expiry-time="20301301"`}, "expiry-time", "no such date"},
	{"expiry February 30", []string{`expiry-time="20300230"`}, "expiry-time", "no such date"},
	{"expiry hour 24", []string{`expiry-time="203001022400"`}, "expiry-time", "no such date"},
	{"expiry before 1970", []string{`expiry-time="19691231Z"`}, "expiry-time", "not after 1970"},
	{"expiry epoch", []string{`expiry-time="19700101Z"`}, "expiry-time", "not after 1970"},
	{"expiry empty", []string{`expiry-time=""`}, "expiry-time", "empty value"},
	{"principals twice", []string{`principals="a"`, `principals="b"`}, "principals", "given twice"},
	{"principals empty entry", []string{`principals="a,"`}, "principals", "principal 2 of 2 is empty"},
	{"verify-required", []string{"verify-required"}, "verify-required", "not supported"},
	{"tunnel", []string{`tunnel="0"`}, "tunnel", "not supported"},
	{"long name is cut", []string{strings.Repeat("x", 100)}, strings.Repeat("x", 32), "unknown option"},
}

func TestParseKeyOptionsRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range keyOptionsRefusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseKeyOptions(tt.opts, testZone)
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("parse %q: got %+v, %v; want an *OptionError", tt.opts, got, err)
			}
			if oe.Option != tt.wantOption || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parse %q: got error %q (option %q), want option %q and %q", tt.opts, err, oe.Option, tt.wantOption, tt.wantErr)
			}
			if !reflect.DeepEqual(got, KeyOptions{}) {
				t.Errorf("parse %q: got %+v with the error, want the zero KeyOptions", tt.opts, got)
			}
		})
	}
}

// TestOptionErrorHidesValues pins that a refused option's value, which may be a secret
// such as a token in a forced command, never reaches the error (and so the logs).
func TestOptionErrorHidesValues(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]string{
		{`command="curl -H token:s3cr3t`},
		{`command="a"`, `command="curl -H token:s3cr3t"`},
		{`environment="TOKEN-s3cr3t"`},
		{`permitopen="s3cr3t:abc"`},
		{`from="s3cr3t/8"`},
		{`expiry-time="s3cr3t"`},
	} {
		_, err := ParseKeyOptions(opts)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("parse %q: got error %v, want one that does not quote the value", opts, err)
		}
	}
}

func TestExpired(t *testing.T) {
	t.Parallel()
	expiry := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		opts KeyOptions
		now  time.Time
		want bool
	}{
		{"no expiry", KeyOptions{}, time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"before", KeyOptions{ExpiryTime: expiry}, expiry.Add(-time.Second), false},
		{"during the expiry second", KeyOptions{ExpiryTime: expiry}, expiry.Add(999 * time.Millisecond), false},
		{"after", KeyOptions{ExpiryTime: expiry}, expiry.Add(time.Second), true},
		{"after, other zone", KeyOptions{ExpiryTime: expiry}, expiry.Add(time.Second).In(testZone), true},
	}
	for _, tt := range tests {
		if got := tt.opts.Expired(tt.now); got != tt.want {
			t.Errorf("%s: Expired(%v) with expiry %v: got %v, want %v", tt.name, tt.now, tt.opts.ExpiryTime, got, tt.want)
		}
	}
}

// TestExpiryLocalVersusUTC pins that the same digits mean different instants with and
// without Z when local time is not UTC.
func TestExpiryLocalVersusUTC(t *testing.T) {
	t.Parallel()
	local, err := parseKeyOptions([]string{`expiry-time="203001021200"`}, testZone)
	if err != nil {
		t.Fatal(err)
	}
	utc, err := parseKeyOptions([]string{`expiry-time="203001021200Z"`}, testZone)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := utc.ExpiryTime.Sub(local.ExpiryTime), 2*time.Hour; got != want {
		t.Errorf("UTC minus local expiry: got %v, want %v", got, want)
	}
	// Between the two instants the local expiry has passed and the UTC one has not.
	now := time.Date(2030, 1, 2, 11, 0, 0, 0, time.UTC)
	if !local.Expired(now) || utc.Expired(now) {
		t.Errorf("at %v: got expired local %v, UTC %v; want true, false", now, local.Expired(now), utc.Expired(now))
	}
}
