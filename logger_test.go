package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNewLogger(t *testing.T) {
	t.Parallel()
	t.Run("json: one object per line, durations in seconds", func(t *testing.T) {
		var buf bytes.Buffer
		log := newLogger(&buf, slog.LevelInfo, true)
		log.Info("session ended", "event", "session.end", "duration", 1503*time.Millisecond)
		log.Debug("below the level")
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 1 {
			t.Fatalf("got %d lines, want 1:\n%s", len(lines), buf.String())
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, lines[0])
		}
		if got["event"] != "session.end" || got["msg"] != "session ended" || got["duration"] != 1.503 {
			t.Errorf("got %v, want event session.end, msg \"session ended\", duration 1.503", got)
		}
	})
	t.Run("text", func(t *testing.T) {
		var buf bytes.Buffer
		newLogger(&buf, slog.LevelInfo, false).Info("session ended", "event", "session.end", "duration", 1503*time.Millisecond)
		if got := buf.String(); !strings.Contains(got, "event=session.end") || !strings.Contains(got, "duration=1.503s") {
			t.Errorf("got %q, want event=session.end and duration=1.503s", got)
		}
	})
}
