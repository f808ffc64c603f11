package jobtrust

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Resolver looks up a hostname's addresses; *net.Resolver is one. Tests inject fakes.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Timing of the address check. Pods of a job get their addresses as they start, and a
// restarted pod gets a new one, so hostnames are resolved when a login needs them, not
// once at start.
const (
	// lookupTimeout bounds the lookups one login waits for.
	lookupTimeout = 2 * time.Second
	// addrTTL is how long a resolved address is trusted without looking it up again:
	// short, because a pod's address may be given to another pod after it is gone.
	addrTTL = 10 * time.Second
	// retryInterval is the least time between two lookups of one hostname, so that
	// logins from addresses outside the job (each one a cache miss) cannot flood DNS.
	retryInterval = time.Second
	// maxParallelLookups bounds the lookups in flight for one login.
	maxParallelLookups = 16
)

// Trust is job trust at run time: the job identity and the job's hosts. Use New.
type Trust struct {
	Identity
	// Hosts are the job's hosts, hostnames and IP addresses, as configured.
	Hosts []string

	ips      map[netip.Addr]string // IP entries of Hosts, compared directly
	names    []string              // hostname entries of Hosts, resolved on demand
	byName   map[string]string     // lower-case hostname entry → the entry
	resolver Resolver
	now      func() time.Time

	mu       sync.Mutex
	resolved map[string]resolution
	reversed map[netip.Addr]time.Time // when each address was last looked up by PTR
	lookups  chan struct{}            // one lookup round at a time; the others then find the cache fresh
}

type resolution struct {
	addrs      []netip.Addr
	resolvedAt time.Time // last successful lookup
	triedAt    time.Time // last lookup, successful or not
}

// New returns the trust for identity and hosts (checked with ParseHosts or
// HostsFromEnv). resolver nil means the system resolver (/etc/hosts, then DNS).
func New(identity Identity, hosts []string, resolver Resolver) *Trust {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	t := &Trust{Identity: identity, Hosts: hosts, ips: map[netip.Addr]string{}, byName: map[string]string{}, resolver: resolver,
		now: time.Now, resolved: map[string]resolution{}, reversed: map[netip.Addr]time.Time{}, lookups: make(chan struct{}, 1)}
	for _, h := range hosts {
		if a, err := netip.ParseAddr(h); err == nil {
			t.ips[a.Unmap()] = h
		} else {
			t.names = append(t.names, h)
			t.byName[strings.ToLower(h)] = h
		}
	}
	return t
}

// IsJobKey reports whether key is the job user key.
func (t *Trust) IsJobKey(key ssh.PublicKey) bool {
	return bytes.Equal(key.Marshal(), t.UserKey.PublicKey().Marshal())
}

// HostOf returns the job host that addr belongs to: an IP entry equal to it, or a
// hostname that resolves to it. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, as a
// dual-stack listener reports IPv4 clients) count as their IPv4 address. ok is false
// when addr is no job host's address, as far as the lookups that finished within
// lookupTimeout (or ctx) tell.
func (t *Trust) HostOf(ctx context.Context, addr netip.Addr) (host string, ok bool) {
	addr = addr.Unmap().WithZone("")
	if h, ok := t.ips[addr]; ok {
		return h, true
	}
	if h, ok := t.cachedHostOf(addr); ok {
		return h, true
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	if h, ok := t.hostByReverseLookup(ctx, addr); ok {
		return h, true
	}
	t.refresh(ctx)
	return t.cachedHostOf(addr)
}

// cachedHostOf looks addr up among the addresses resolved less than addrTTL ago.
func (t *Trust) cachedHostOf(addr netip.Addr) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, h := range t.names {
		r := t.resolved[h]
		if now.Sub(r.resolvedAt) >= addrTTL {
			continue
		}
		for _, a := range r.addrs {
			if a == addr {
				return h, true
			}
		}
	}
	return "", false
}

// reverseResolver is a Resolver that also finds an address's names (PTR records), as
// *net.Resolver does.
type reverseResolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// maxReversed bounds the addresses whose last PTR lookup time is remembered.
const maxReversed = 4096

// hostByReverseLookup is the fast path for a job with many hosts: the client address's
// PTR names (in Kubernetes, a pod's hostname.subdomain.namespace.svc.cluster.local)
// name the job host it may be, and only that host is then resolved to confirm it, so a
// login costs two lookups rather than one per host. The PTR answer alone proves
// nothing (whoever controls the reverse zone chooses it); the forward lookup of the
// job's own entry does. Each address is looked up at most once per retryInterval.
func (t *Trust) hostByReverseLookup(ctx context.Context, addr netip.Addr) (string, bool) {
	rr, ok := t.resolver.(reverseResolver)
	if !ok || len(t.names) == 0 {
		return "", false
	}
	t.mu.Lock()
	now := t.now()
	if now.Sub(t.reversed[addr]) < retryInterval {
		t.mu.Unlock()
		return "", false
	}
	if len(t.reversed) >= maxReversed {
		clear(t.reversed)
	}
	t.reversed[addr] = now
	t.mu.Unlock()
	names, err := rr.LookupAddr(ctx, addr.String())
	if err != nil {
		return "", false
	}
	for _, name := range names {
		h, ok := t.entryFor(name)
		if !ok {
			continue
		}
		t.resolve(ctx, h)
		if host, ok := t.cachedHostOf(addr); ok {
			return host, true
		}
	}
	return "", false
}

// entryFor finds the hostname entry a PTR name stands for: the entry itself, or the
// entry followed by a domain (worker-0.job → worker-0.job.ns.svc.cluster.local.).
func (t *Trust) entryFor(name string) (string, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if h, ok := t.byName[name[:i]]; ok {
				return h, true
			}
		}
	}
	return "", false
}

// resolve looks h up now unless it was tried within retryInterval, and records the
// result as refresh does.
func (t *Trust) resolve(ctx context.Context, h string) {
	t.mu.Lock()
	due := t.now().Sub(t.resolved[h].triedAt) >= retryInterval
	t.mu.Unlock()
	if due {
		t.lookUp(ctx, h)
	}
}

// jobAddress reports whether an address a job host's name resolves to may stand for
// that host. Loopback, unspecified, link-local and multicast addresses may not: every
// connection through the platform's relay, kubectl port-forward or an ssh -L tunnel
// arrives from loopback, and Debian's /etc/hosts maps the machine's own name to
// 127.0.1.1, so such a resolution would make all of them count as the job. (A job host
// given as an IP address is the operator's explicit choice and is kept as given.)
func jobAddress(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsLinkLocalUnicast() &&
		!a.IsLinkLocalMulticast() && !a.IsMulticast()
}

// refresh looks up, in parallel, every hostname not tried within retryInterval.
func (t *Trust) refresh(ctx context.Context) {
	select {
	case t.lookups <- struct{}{}:
	case <-ctx.Done():
		return // another login's lookups took all our time; use what they found
	}
	defer func() { <-t.lookups }()
	t.mu.Lock()
	now := t.now()
	var due []string
	for _, h := range t.names {
		if now.Sub(t.resolved[h].triedAt) >= retryInterval {
			due = append(due, h)
		}
	}
	t.mu.Unlock()

	sem := make(chan struct{}, maxParallelLookups)
	var wg sync.WaitGroup
	for _, h := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.lookUp(ctx, h)
		}()
	}
	wg.Wait()
}

// lookUp resolves the hostname entry h and records its job addresses.
func (t *Trust) lookUp(ctx context.Context, h string) {
	addrs, err := t.resolver.LookupNetIP(ctx, "ip", h)
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.resolved[h]
	r.triedAt = t.now()
	if err == nil {
		r.addrs = r.addrs[:0:0]
		for _, a := range addrs {
			if a = a.Unmap().WithZone(""); jobAddress(a) {
				r.addrs = append(r.addrs, a)
			}
		}
		r.resolvedAt = r.triedAt
	}
	t.resolved[h] = r
}
