package web

import (
	"fmt"
	"testing"
	"time"
)

// TestFailuresCountPerIPv6Prefix: the addresses of one IPv6 /64 share one budget and
// one entry, so a host that owns a /64 neither gets failureBurst tries per address nor
// fills the table; an address elsewhere keeps its own budget.
func TestFailuresCountPerIPv6Prefix(t *testing.T) {
	l := newFailureLimiter(func() time.Time { return time.Unix(1_700_000_000, 0) })
	for i := range 10 * maxFailureSources {
		client := fmt.Sprintf("2001:db8:1:2:%x:%x::1", i>>16, i&0xffff)
		if i < failureBurst && !l.allow(client) {
			t.Fatalf("failure %d from the /64 refused before its budget was spent", i+1)
		}
		l.record(client)
	}
	if l.allow("2001:db8:1:2:ffff:ffff:ffff:fffe") {
		t.Error("after the /64 spent its budget from many addresses, one more of its addresses may still try")
	}
	if n := len(l.buckets); n != 1 {
		t.Errorf("one /64 takes %d entries, want 1", n)
	}
	for _, other := range []string{"2001:db8:1:3::1", "192.0.2.1", "::ffff:192.0.2.2"} {
		if !l.allow(other) {
			t.Errorf("%s, outside the /64, is refused", other)
		}
	}
}

func TestFailureSource(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.7":        "::ffff:192.0.2.7", // Unmap'd by clientTCPAddr before it gets here
		"2001:db8::1":             "2001:db8::/64",
		"2001:db8:0:0:abcd::9":    "2001:db8::/64",
		"fe80::1%eth0":            "fe80::/64",
		"not an address":          "not an address",
		"2001:db8:ffff:ffff:1::1": "2001:db8:ffff:ffff::/64",
	} {
		if got := failureSource(in); got != want {
			t.Errorf("failureSource(%q) = %q, want %q", in, got, want)
		}
	}
}
