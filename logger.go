//go:build linux

package main

import (
	"io"
	"log/slog"
	"time"
)

// newLogger is the agent's logger: slog's text handler (key=value lines) or, with
// --log-format json, its JSON handler, one object per line, for log collectors. In
// JSON a duration is a number of seconds (slog would write nanoseconds), so that the
// event fields the README documents read the same way in both formats.
func newLogger(w io.Writer, level slog.Leveler, jsonLogs bool) *slog.Logger {
	if !jsonLogs {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: durationSeconds}))
}

// newLogLevel is the level the logger starts with: --log-level-file's when given,
// else --log-level. A LevelVar, so that a reload (SIGHUP) can change it.
func newLogLevel(o serveOptions) (*slog.LevelVar, error) {
	level := new(slog.LevelVar)
	level.Set(o.logLevel)
	if o.logLevelFile != "" {
		l, err := readLogLevelFile(o.logLevelFile)
		if err != nil {
			return nil, err
		}
		level.Set(l)
	}
	return level, nil
}

// durationSeconds turns a duration attribute into seconds, rounded to the millisecond.
func durationSeconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, float64(a.Value.Duration().Round(time.Millisecond).Milliseconds())/1000)
	}
	return a
}
