package keys

import (
	"net/netip"
	"strings"
	"testing"
)

func TestMatchFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns string
		addr     string // "" for no address
		hostname string
		want     bool
	}{
		{"exact v4", "10.1.2.3", "10.1.2.3", "", true},
		{"other v4", "10.1.2.3", "10.1.2.4", "", false},
		{"exact v6", "2001:db8::1", "2001:db8::1", "", true},
		{"v6 written differently", "2001:DB8:0:0::1", "2001:db8::1", "", true},
		{"star", "10.1.*", "10.1.200.3", "", true},
		{"star, no match", "10.1.*", "10.10.2.3", "", false},
		{"question mark", "10.1.2.?", "10.1.2.7", "", true},
		{"question mark is one byte", "10.1.2.?", "10.1.2.70", "", false},
		{"star alone", "*", "192.0.2.1", "", true},
		{"v6 wildcard, pattern upper case", "FD00:*", "fd00::5", "", true},
		{"cidr v4", "10.0.0.0/8", "10.255.0.1", "", true},
		{"cidr v4, outside", "10.0.0.0/8", "11.0.0.1", "", false},
		{"cidr v4 /32", "192.0.2.7/32", "192.0.2.7", "", true},
		{"cidr v4 /0", "0.0.0.0/0", "203.0.113.9", "", true},
		{"cidr v6", "fd00::/8", "fd12:3456::1", "", true},
		{"cidr v6, outside", "fd00::/8", "fe80::1", "", false},
		{"cidr v4 does not match v6", "0.0.0.0/0", "2001:db8::1", "", false},
		{"cidr v6 does not match v4", "::/0", "10.0.0.1", "", false},
		{"mapped address entry", "::ffff:10.1.2.3", "10.1.2.3", "", true},
		{"mapped address entry, other client", "::ffff:10.1.2.3", "10.1.2.4", "", false},
		{"mapped cidr entry", "::ffff:10.0.0.0/104", "10.9.8.7", "", true},
		{"mapped cidr entry, outside", "::ffff:10.0.0.0/104", "11.0.0.1", "", false},
		{"mapped negation excludes", "!::ffff:10.1.2.3,*", "10.1.2.3", "", false},
		{"mapped cidr mixing families is malformed", "::ffff:0:0/80", "10.0.0.1", "", false},
		{"list, second entry", "192.168.0.0/16,10.0.0.0/8", "10.0.0.1", "", true},
		{"list, none", "192.168.0.0/16,172.16.0.0/12", "10.0.0.1", "", false},
		{"negation only", "!10.0.0.1", "10.0.0.2", "", false},
		{"negation before positive", "!10.0.0.1,10.0.0.0/8", "10.0.0.1", "", false},
		{"negation after positive", "10.0.0.0/8,!10.0.0.1", "10.0.0.1", "", false},
		{"negation elsewhere", "10.0.0.0/8,!10.0.0.1", "10.0.0.2", "", true},
		{"negated cidr wins", "*,!10.1.0.0/16", "10.1.9.9", "", false},
		{"negated cidr, outside", "*,!10.1.0.0/16", "10.2.9.9", "", true},
		{"negated wildcard wins", "10.0.0.0/8,!10.0.0.*", "10.0.0.9", "", false},
		{"mapped address unmapped", "10.0.0.0/8", "::ffff:10.1.2.3", "", true},
		{"mapped address, wildcard on v4 text", "10.1.2.*", "::ffff:10.1.2.3", "", true},
		{"mapped address, negation", "*,!10.1.2.3", "::ffff:10.1.2.3", "", false},
		{"zone ignored", "fe80::/10", "fe80::1%eth0", "", true},
		{"hostname pattern", "*.example.org", "192.0.2.1", "build.example.org", true},
		{"hostname pattern, case", "*.EXAMPLE.org", "192.0.2.1", "Build.Example.ORG", true},
		{"hostname pattern, other name", "*.example.org", "192.0.2.1", "example.com", false},
		{"hostname pattern without a name", "*.example.org", "192.0.2.1", "", false},
		{"negated hostname wins over address", "10.0.0.0/8,!bad.example.org", "10.0.0.1", "bad.example.org", false},
		{"negated address wins over hostname", "good.example.org,!10.0.0.1", "10.0.0.1", "good.example.org", false},
		{"address matches with a hostname", "10.0.0.0/8", "10.0.0.1", "host.example.org", true},
		{"address text wildcard with a hostname", "10.0.0.*", "10.0.0.1", "host.example.org", true},
		{"hostname only, no address", "*.example.org", "", "a.example.org", true},
		{"nothing to match", "*", "", "", false},
		{"malformed: host bits set", "10.0.0.1/8", "10.0.0.1", "", false},
		{"malformed: host bits set, other entry matches", "*,10.0.0.1/8", "10.0.0.1", "", false},
		{"malformed: mask too long", "10.0.0.0/33,*", "10.0.0.1", "", false},
		{"malformed: v6 mask too long", "fd00::/129,*", "fd00::1", "", false},
		{"malformed: negated junk cidr", "*,!10.0.0.0/8x", "10.0.0.1", "", false},
		{"malformed: empty entry", "10.0.0.1,,*", "10.0.0.1", "", false},
		{"malformed: trailing comma", "10.0.0.1,", "10.0.0.1", "", false},
		{"malformed: lone negation", "*,!", "10.0.0.1", "", false},
		{"malformed: empty list", "", "10.0.0.1", "", false},
		{"malformed: entry too long", "*," + strings.Repeat("a", 1024), "10.0.0.1", "", false},
		{"longest entry allowed", strings.Repeat("*", 1023), "10.0.0.1", "", true},
	}
	for _, tt := range tests {
		var addr netip.Addr
		if tt.addr != "" {
			addr = netip.MustParseAddr(tt.addr)
		}
		if got := MatchFrom(tt.patterns, addr, tt.hostname); got != tt.want {
			t.Errorf("%s: MatchFrom(%q, %v, %q): got %v, want %v", tt.name, tt.patterns, addr, tt.hostname, got, tt.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"", "", true},
		{"", "*", true},
		{"", "?", false},
		{"abc", "abc", true},
		{"abc", "ab", false},
		{"abc", "abcd", false},
		{"abc", "a*", true},
		{"abc", "*c", true},
		{"abc", "*b*", true},
		{"abc", "a?c", true},
		{"abc", "a??c", false},
		{"aaab", "*a*b", true},
		{"abcabd", "*abd", true},
		{"abcabc", "*abd", false},
		{"a.b.c", "*.*.*", true},
		{"a.b", "*.*.*", false},
		{strings.Repeat("a", 200), strings.Repeat("*a", 100) + "b", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.s, tt.pattern); got != tt.want {
			t.Errorf("matchPattern(%q, %q): got %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}
