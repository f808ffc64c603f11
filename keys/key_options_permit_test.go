package keys

import (
	"net/netip"
	"testing"
)

// mustParseOptions parses opts or fails the test.
func mustParseOptions(t *testing.T, opts ...string) KeyOptions {
	t.Helper()
	o, err := ParseKeyOptions(opts)
	if err != nil {
		t.Fatalf("parse %q: %v", opts, err)
	}
	return o
}

func TestPermitsOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []string
		host string
		port uint32
		want bool
	}{
		{"no options", nil, "anywhere.example", 1, true},
		{"no-port-forwarding", []string{"no-port-forwarding"}, "localhost", 80, false},
		{"restrict", []string{"restrict"}, "localhost", 80, false},
		{"restrict, re-enabled", []string{"restrict", "port-forwarding"}, "localhost", 80, true},
		{"restrict wins over a list", []string{`permitopen="localhost:80"`, "restrict"}, "localhost", 80, false},
		{"listed", []string{`permitopen="localhost:8888"`}, "localhost", 8888, true},
		{"listed, case differs", []string{`permitopen="LocalHost:8888"`}, "localhost", 8888, true},
		{"other port", []string{`permitopen="localhost:8888"`}, "localhost", 8889, false},
		{"other host", []string{`permitopen="localhost:8888"`}, "127.0.0.1", 8888, false},
		{"no patterns", []string{`permitopen="*.internal:80"`}, "db.internal", 80, false},
		{"second entry", []string{`permitopen="a:1"`, `permitopen="b:2"`}, "b", 2, true},
		{"entries do not mix", []string{`permitopen="a:1"`, `permitopen="b:2"`}, "a", 2, false},
		{"any port", []string{`permitopen="db:*"`}, "db", 5432, true},
		{"any port, other host", []string{`permitopen="db:*"`}, "web", 5432, false},
		{"any host", []string{`permitopen="*:443"`}, "example.org", 443, true},
		{"any host, other port", []string{`permitopen="*:443"`}, "example.org", 80, false},
		{"IPv6", []string{`permitopen="[::1]:22"`}, "::1", 22, true},
		{"IPv6 with brackets is another string", []string{`permitopen="[::1]:22"`}, "[::1]", 22, false},
		{"port beyond 16 bits", []string{`permitopen="a:22"`}, "a", 22 + 65536, false},
	}
	for _, tt := range tests {
		o := mustParseOptions(t, tt.opts...)
		if got := o.PermitsOpen(tt.host, tt.port); got != tt.want {
			t.Errorf("%s: options %q PermitsOpen(%q, %d): got %v, want %v", tt.name, tt.opts, tt.host, tt.port, got, tt.want)
		}
	}
}

func TestPermitsListen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []string
		host string
		port uint32
		want bool
	}{
		{"no options", nil, "0.0.0.0", 80, true},
		{"no-port-forwarding", []string{"no-port-forwarding"}, "localhost", 8080, false},
		{"restrict", []string{"restrict"}, "localhost", 8080, false},
		{"bare port, OpenSSH client default", []string{`permitlisten="8080"`}, "localhost", 8080, true},
		{"bare port, any address", []string{`permitlisten="8080"`}, "0.0.0.0", 8080, true},
		{"bare port, empty address", []string{`permitlisten="8080"`}, "", 8080, true},
		{"bare port, other port", []string{`permitlisten="8080"`}, "localhost", 8081, false},
		{"bare port, port 0", []string{`permitlisten="8080"`}, "localhost", 0, false},
		{"any port allows port 0", []string{`permitlisten="localhost:*"`}, "localhost", 0, true},
		{"host given", []string{`permitlisten="localhost:9000"`}, "localhost", 9000, true},
		{"host given, case differs", []string{`permitlisten="LOCALHOST:9000"`}, "LocalHost", 9000, true},
		{"localhost is not 127.0.0.1", []string{`permitlisten="localhost:9000"`}, "127.0.0.1", 9000, false},
		{"127.0.0.1 is not localhost", []string{`permitlisten="127.0.0.1:9000"`}, "localhost", 9000, false},
		{"IPv6", []string{`permitlisten="[::1]:9000"`}, "::1", 9000, true},
		{"wildcard host", []string{`permitlisten="*:9000"`}, "192.0.2.1", 9000, true},
		{"host pattern", []string{`permitlisten="127.0.0.*:9000"`}, "127.0.0.1", 9000, true},
		{"host pattern, no match", []string{`permitlisten="127.0.0.?:9000"`}, "127.0.0.10", 9000, false},
		{"second entry", []string{`permitlisten="1000"`, `permitlisten="2000"`}, "localhost", 2000, true},
	}
	for _, tt := range tests {
		o := mustParseOptions(t, tt.opts...)
		if got := o.PermitsListen(tt.host, tt.port); got != tt.want {
			t.Errorf("%s: options %q PermitsListen(%q, %d): got %v, want %v", tt.name, tt.opts, tt.host, tt.port, got, tt.want)
		}
	}
}

func TestPermitsFrom(t *testing.T) {
	t.Parallel()
	addr := netip.MustParseAddr("10.1.2.3")
	if o := mustParseOptions(t); !o.PermitsFrom(addr, "") {
		t.Errorf("no from=: got refused, want permitted")
	}
	if o := mustParseOptions(t, `from="10.0.0.0/8"`); !o.PermitsFrom(addr, "") {
		t.Errorf("from=10.0.0.0/8 for %v: got refused, want permitted", addr)
	}
	if o := mustParseOptions(t, `from="192.168.0.0/16"`); o.PermitsFrom(addr, "") {
		t.Errorf("from=192.168.0.0/16 for %v: got permitted, want refused", addr)
	}
	// Two lists, as a caller might build them by hand: both must match.
	o := KeyOptions{From: []string{"10.0.0.0/8", "!10.1.0.0/16,*"}}
	if o.PermitsFrom(addr, "") {
		t.Errorf("from lists %q for %v: got permitted, want refused by the second", o.From, addr)
	}
	if !o.PermitsFrom(netip.MustParseAddr("10.2.0.1"), "") {
		t.Errorf("from lists %q for 10.2.0.1: got refused, want permitted by both", o.From)
	}
}

func TestHostPortString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		hp   HostPort
		want string
	}{
		{HostPort{"localhost", 22}, "localhost:22"},
		{HostPort{"::1", -1}, "[::1]:*"},
		{HostPort{"*", 8080}, "*:8080"},
		{HostPort{"a/b", 1}, "[a/b]:1"},
		{HostPort{"[a", 1}, "[[a]:1"},
	} {
		if got := tt.hp.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.hp, got, tt.want)
		}
		back, err := parseHostPort(tt.want, false)
		if err != nil || back != tt.hp {
			t.Errorf("parse %q: got %+v, %v; want %+v", tt.want, back, err, tt.hp)
		}
	}
}
