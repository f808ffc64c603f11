package jobtrust

import (
	"context"
	"net/netip"
	"testing"
)

// TestForgetAddresses: a pod that moved within addrTTL is found at its new address once
// the addresses are forgotten (what a SIGHUP does), not before.
func TestForgetAddresses(t *testing.T) {
	t.Parallel()
	tr, r, _ := newTestTrust(t, "w-1")
	r.set("w-1", "10.9.0.2")
	if _, ok := tr.HostOf(context.Background(), netip.MustParseAddr("10.9.0.2")); !ok {
		t.Fatal("w-1 at 10.9.0.2 not recognised")
	}
	r.set("w-1", "10.9.0.5") // the pod was restarted elsewhere
	if h, ok := tr.cachedHostOf(netip.MustParseAddr("10.9.0.5")); ok {
		t.Fatalf("before forgetting, 10.9.0.5 is already %q: the test does not test", h)
	}
	tr.ForgetAddresses()
	if h, ok := tr.cachedHostOf(netip.MustParseAddr("10.9.0.2")); ok {
		t.Errorf("after ForgetAddresses the old address still counts as %q", h)
	}
	before := r.count("w-1")
	if h, ok := tr.HostOf(context.Background(), netip.MustParseAddr("10.9.0.5")); !ok || h != "w-1" {
		t.Errorf("HostOf(10.9.0.5) after ForgetAddresses: %q, %v; want w-1", h, ok)
	}
	if r.count("w-1") == before {
		t.Errorf("no new lookup of w-1 after ForgetAddresses")
	}
}
