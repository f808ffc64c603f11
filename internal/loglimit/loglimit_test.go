package loglimit

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestBurstThenCount: Burst lines a second pass, the rest are dropped, and the first
// line of the next second counts them.
func TestBurstThenCount(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := &Limiter{Now: func() time.Time { return now }}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	for range 3 * Burst {
		l.Log(log, slog.LevelWarn, "refused")
	}
	if got := strings.Count(buf.String(), "refused"); got != Burst {
		t.Fatalf("logged %d lines of %d in one second, want %d", got, 3*Burst, Burst)
	}
	now = now.Add(1100 * time.Millisecond)
	l.Log(log, slog.LevelWarn, "refused")
	if want := fmt.Sprintf("not_logged_before=%d", 2*Burst); !strings.Contains(buf.String(), want) {
		t.Errorf("the line after the burst does not say %s:\n%s", want, buf.String())
	}
}
