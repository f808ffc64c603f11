package web

import (
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
	failureLogBurst   = 10 // refusal log lines a second, at most
)

type failureLimiter struct {
	now func() time.Time

	mu       sync.Mutex
	buckets  map[string]*failureBucket
	overflow failureBucket
	logSec   int64
	logCount int
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

// allow reports whether client may try (again): it has failures left.
func (l *failureLimiter) allow(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(client).tokens >= 1
}

// record counts one failure of client.
func (l *failureLimiter) record(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(client)
	b.tokens = max(0, b.tokens-1)
}

// shouldLog reports whether one more refusal may be logged this second.
func (l *failureLimiter) shouldLog() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	sec := l.now().Unix()
	if sec != l.logSec {
		l.logSec, l.logCount = sec, 0
	}
	l.logCount++
	return l.logCount <= failureLogBurst
}
