package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logBurst is how many lines of one kind a second the agent writes; the others are
// counted. A flood costs its sender nothing and must not fill the disk: the log is the
// container's stderr, which platforms store and bill for.
const logBurst = 10

// logLimiter rate-limits one kind of log line, shared by every connection: at most
// logBurst lines a second; the next line written after some were not says how many
// (not_logged_before). The zero value is ready to use.
type logLimiter struct {
	mu         sync.Mutex
	windowEnds time.Time
	logged     int
	dropped    int // lines not logged since the last one that was
}

// log writes the line unless logBurst lines were written in the last second.
func (l *logLimiter) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	ok, dropped := l.allow(time.Now())
	if !ok {
		return
	}
	if dropped > 0 {
		args = append(args, "not_logged_before", dropped)
	}
	log.Log(context.Background(), level, msg, args...)
}

// allow reports whether a line may be written at now, and how many were not since the
// last one that was.
func (l *logLimiter) allow(now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.windowEnds) {
		l.windowEnds, l.logged = now.Add(time.Second), 0
	}
	if l.logged >= logBurst {
		l.dropped++
		return false, 0
	}
	l.logged++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}
