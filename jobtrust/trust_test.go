package jobtrust

import (
	"context"
	"errors"
	"fmt"
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

// reverseFakeResolver is fakeResolver with PTR records.
type reverseFakeResolver struct {
	*fakeResolver
	ptr map[string][]string
}

func (r *reverseFakeResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls["PTR "+addr]++
	if names, ok := r.ptr[addr]; ok {
		return names, nil
	}
	return nil, errors.New("no PTR record")
}

func (r *fakeResolver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		n += c
	}
	return n
}

// TestHostOfByReverseLookup: in a job with many hosts, a login from a job host costs a
// PTR lookup and one forward lookup, not one per host; a PTR record that names a job
// host whose name does not resolve to the client proves nothing.
func TestHostOfByReverseLookup(t *testing.T) {
	t.Parallel()
	id, err := FromSecret(Secret("trust-test-secret-0002"))
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	base := &fakeResolver{table: map[string][]netip.Addr{}, block: map[string]bool{}, calls: map[string]int{}}
	for i := range 1000 {
		h := fmt.Sprintf("job-worker-%d.job", i)
		hosts = append(hosts, h)
		base.set(h, fmt.Sprintf("10.8.%d.%d", i/250, i%250+1))
	}
	r := &reverseFakeResolver{fakeResolver: base, ptr: map[string][]string{
		"10.8.2.1":   {"job-worker-500.job.default.svc.cluster.local."},
		"10.9.9.9":   {"JOB-WORKER-7.job.default.svc.cluster.local."}, // lies: job-worker-7 is 10.8.0.8
		"10.8.0.100": {"unrelated.example."},
	}}
	tr := New(*id, hosts, r)
	ctx := context.Background()
	if h, ok := tr.HostOf(ctx, netip.MustParseAddr("10.8.2.1")); !ok || h != "job-worker-500.job" {
		t.Fatalf("HostOf(10.8.2.1) = %q, %v; want job-worker-500.job", h, ok)
	}
	if n := base.total(); n != 2 {
		t.Errorf("a login from a job host took %d lookups, want 2 (PTR, then the named host)", n)
	}
	if h, ok := tr.HostOf(ctx, netip.MustParseAddr("10.9.9.9")); ok {
		t.Errorf("HostOf(10.9.9.9) = %q, true, want false: its PTR names a job host that resolves elsewhere", h)
	}
	// Without a usable PTR record, every host is resolved: still found.
	if h, ok := tr.HostOf(ctx, netip.MustParseAddr("10.8.0.100")); !ok || h != "job-worker-99.job" {
		t.Errorf("HostOf(10.8.0.100) = %q, %v; want job-worker-99.job by resolving every host", h, ok)
	}
}
