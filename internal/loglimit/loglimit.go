// Package loglimit rate-limits log lines that strangers can cause (refused
// connections, rejected keys, refused web requests): a flood costs its sender nothing
// and must not fill the disk, since the log is the container's stderr, which platforms
// store and bill for.
package loglimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Burst is how many lines of one kind a second a Limiter lets through; the others are
// counted.
const Burst = 10

// Limiter rate-limits one kind of log line, shared by every connection: at most Burst
// lines a second; the next line written after some were not says how many
// (not_logged_before). The zero value is ready to use, on the wall clock.
type Limiter struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	windowEnds time.Time
	logged     int
	dropped    int // lines not logged since the last one that was
}

// Log writes the line unless Burst lines were written in the last second.
func (l *Limiter) Log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	ok, dropped := l.Allow(now())
	if !ok {
		return
	}
	if dropped > 0 {
		args = append(args, "not_logged_before", dropped)
	}
	log.Log(context.Background(), level, msg, args...)
}

// Allow reports whether a line may be written at now, and how many were not since the
// last one that was.
func (l *Limiter) Allow(now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.windowEnds) {
		l.windowEnds, l.logged = now.Add(time.Second), 0
	}
	if l.logged >= Burst {
		l.dropped++
		return false, 0
	}
	l.logged++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}
