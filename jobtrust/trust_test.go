package jobtrust

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeResolver answers from a table and counts lookups; a host in block waits for the
// context to end.
type fakeResolver struct {
	mu    sync.Mutex
	table map[string][]netip.Addr
	block map[string]bool
	calls map[string]int
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.calls[host]++
	addrs, ok := r.table[host]
	blocked := r.block[host]
	r.mu.Unlock()
	if blocked {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if !ok {
		return nil, errors.New("no such host")
	}
	return addrs, nil
}

func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.table[host] = nil
	for _, a := range addrs {
		r.table[host] = append(r.table[host], netip.MustParseAddr(a))
	}
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

func newTestTrust(t *testing.T, hosts ...string) (*Trust, *fakeResolver, *time.Time) {
	t.Helper()
	id, err := FromSecret(Secret("trust-test-secret-0001"))
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeResolver{table: map[string][]netip.Addr{}, block: map[string]bool{}, calls: map[string]int{}}
	tr := New(*id, hosts, r)
	now := time.Unix(1_700_000_000, 0)
	tr.now = func() time.Time { return now }
	return tr, r, &now
}

func TestHostOf(t *testing.T) {
	t.Parallel()
	tr, r, _ := newTestTrust(t, "w-0", "w-1", "10.9.0.7", "fd00::7", "w-self")
	r.set("w-0", "10.9.0.1")
	r.set("w-1", "10.9.0.2", "fd00::2")
	// Debian's /etc/hosts maps the machine's own name to 127.0.1.1; such resolutions
	// stand for no job host, or every relayed or tunnelled connection would.
	r.set("w-self", "127.0.1.1", "::1", "0.0.0.0", "fe80::1", "10.9.0.8")
	tests := []struct {
		addr     string
		wantHost string
		wantOK   bool
	}{
		{"10.9.0.1", "w-0", true},
		{"::ffff:10.9.0.2", "w-1", true}, // an IPv4 client on a dual-stack listener
		{"fd00::2", "w-1", true},
		{"10.9.0.7", "10.9.0.7", true},
		{"::ffff:10.9.0.7", "10.9.0.7", true},
		{"fd00::7", "fd00::7", true},
		{"10.9.0.3", "", false},
		{"127.0.0.1", "", false},
		{"127.0.1.1", "", false},
		{"::1", "", false},
		{"0.0.0.0", "", false},
		{"fe80::1", "", false},
		{"10.9.0.8", "w-self", true},
	}
	for _, tt := range tests {
		host, ok := tr.HostOf(context.Background(), netip.MustParseAddr(tt.addr))
		if host != tt.wantHost || ok != tt.wantOK {
			t.Errorf("HostOf(%s): got %q, %v, want %q, %v", tt.addr, host, ok, tt.wantHost, tt.wantOK)
		}
	}
}

// TestHostOfFollowsAddressChanges pins the cache: a pod that restarts with a new address
// is trusted at the new one at once, and no longer at the old one once addrTTL passed;
// logins from outside the job look each hostname up at most once per retryInterval.
func TestHostOfFollowsAddressChanges(t *testing.T) {
	t.Parallel()
	tr, r, now := newTestTrust(t, "w-0")
	ctx := context.Background()
	old, moved, stranger := netip.MustParseAddr("10.9.0.1"), netip.MustParseAddr("10.9.0.5"), netip.MustParseAddr("10.9.9.9")
	if _, ok := tr.HostOf(ctx, old); ok {
		t.Fatal("trusted an address before its hostname resolved")
	}
	*now = now.Add(retryInterval) // w-0 has started and has an address now
	r.set("w-0", old.String())
	if _, ok := tr.HostOf(ctx, old); !ok {
		t.Fatal("not trusted once the hostname resolves")
	}
	calls := r.count("w-0")
	for range 5 {
		if _, ok := tr.HostOf(ctx, stranger); ok {
			t.Fatal("trusted an address outside the job")
		}
	}
	if got := r.count("w-0"); got != calls {
		t.Errorf("5 logins from outside within retryInterval made %d lookups, want 0", got-calls)
	}
	*now = now.Add(retryInterval)
	r.set("w-0", moved.String()) // the pod restarted elsewhere
	if _, ok := tr.HostOf(ctx, moved); !ok {
		t.Error("new address not trusted after retryInterval")
	}
	*now = now.Add(addrTTL)
	r.set("w-0") // the name is gone from DNS
	if _, ok := tr.HostOf(ctx, moved); ok {
		t.Error("address still trusted addrTTL after its last successful lookup")
	}
}

func TestHostOfLookupTimeout(t *testing.T) {
	t.Parallel()
	tr, r, _ := newTestTrust(t, "slow", "w-1")
	r.block["slow"] = true
	r.set("w-1", "10.9.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	host, ok := tr.HostOf(ctx, netip.MustParseAddr("10.9.0.2"))
	if !ok || host != "w-1" {
		t.Errorf("got %q, %v, want w-1 found although another lookup hangs", host, ok)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, want the context's 200ms bound", d)
	}
}
