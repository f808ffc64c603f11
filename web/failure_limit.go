package web

import (
	"net/netip"
	"sync"
	"time"
)

// Failed attempts per client address: a bucket of failureBurst that refills one a
// second. An address whose bucket is empty gets 429 before its token is even looked at,
// so a guesser gets about one try a second. At most maxFailureSources addresses are
// tracked; past that, new addresses share one bucket, so a flood from many addresses
// costs bounded memory (and slows down only the flood's share).
const (
	failureBurst      = 20
	failureRefill     = time.Second
	maxFailureSources = 4096
)

type failureLimiter struct {
	now func() time.Time

	mu       sync.Mutex
	buckets  map[string]*failureBucket
	overflow failureBucket
}

type failureBucket struct {
	tokens float64
	at     time.Time
}

func newFailureLimiter(now func() time.Time) *failureLimiter {
	return &failureLimiter{now: now, buckets: map[string]*failureBucket{}}
}

// bucket returns client's bucket, refilled up to now. Caller holds mu.
func (l *failureLimiter) bucket(client string) *failureBucket {
	b, ok := l.buckets[client]
	if !ok {
		if len(l.buckets) >= maxFailureSources {
			l.prune()
		}
		if len(l.buckets) >= maxFailureSources {
			b = &l.overflow
		} else {
			b = &failureBucket{tokens: failureBurst, at: l.now()}
			l.buckets[client] = b
		}
	}
	now := l.now()
	if b.at.IsZero() {
		b.tokens, b.at = failureBurst, now
	}
	b.tokens = min(failureBurst, b.tokens+float64(now.Sub(b.at))/float64(failureRefill))
	b.at = now
	return b
}

// prune forgets the addresses whose buckets are full again: they owe nothing.
func (l *failureLimiter) prune() {
	now := l.now()
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(failureRefill) >= failureBurst {
			delete(l.buckets, k)
		}
	}
}

// failureSource is what failures are counted by for a client address: the address
// itself for IPv4, its /64 for IPv6. One IPv6 host commonly holds a whole /64 and can
// send from as many of its addresses as it likes: counted one by one, it would get
// failureBurst tries from each, fill the table, and then drain the overflow bucket
// that every new address (a legitimate user's too) shares.
func failureSource(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil || !a.Unmap().Is6() {
		return client
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// allow reports whether client may try (again): its source has failures left.
func (l *failureLimiter) allow(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(failureSource(client)).tokens >= 1
}

// record counts one failure of client's source.
func (l *failureLimiter) record(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(failureSource(client))
	b.tokens = max(0, b.tokens-1)
}
