package gcpolicy

import (
	"bytes"
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"jobsshd/internal/testwait"
)

// restoreRuntime puts the GC percent and memory limit back when the test ends.
func restoreRuntime(t *testing.T) {
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
}

func TestApplyHonoursTheEnvironment(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{name: "nothing set", env: nil, wantPercent: GCPercent, wantLimit: MemoryLimit},
		{name: "GOGC set", env: map[string]string{"GOGC": "50"}, wantPercent: 77, wantLimit: MemoryLimit},
		{name: "GOGC=off", env: map[string]string{"GOGC": "off"}, wantPercent: 77, wantLimit: MemoryLimit},
		{name: "GOMEMLIMIT set", env: map[string]string{"GOMEMLIMIT": "1GiB"}, wantPercent: GCPercent, wantLimit: 123 << 20},
		{name: "both set", env: map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}, wantPercent: 77, wantLimit: 123 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreRuntime(t)
			// What the runtime would have taken from the environment at start: Apply
			// must leave it as it is.
			debug.SetGCPercent(77)
			debug.SetMemoryLimit(123 << 20)
			Apply(func(k string) string { return tt.env[k] })
			if got := debug.SetGCPercent(100); got != tt.wantPercent {
				t.Errorf("GC percent: got %d, want %d", got, tt.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit: got %d, want %d", got, tt.wantLimit)
			}
		})
	}
}

func TestShouldReturn(t *testing.T) {
	prev := heapSample{allocated: 100 << 20, held: 40 << 20, live: 5 << 20}
	tests := []struct {
		name string
		cur  heapSample
		want bool
	}{
		{name: "quiet, garbage held", cur: heapSample{allocated: prev.allocated + 4096, held: 40 << 20, live: 5 << 20}, want: true},
		{name: "busy, garbage held", cur: heapSample{allocated: prev.allocated + 64<<20, held: 40 << 20, live: 5 << 20}, want: false},
		{name: "quiet, nothing beyond the slack", cur: heapSample{allocated: prev.allocated, held: 5<<20 + returnSlack, live: 5 << 20}, want: false},
		{name: "quiet, just past the slack", cur: heapSample{allocated: prev.allocated + quietAllocation - 1, held: 5<<20 + returnSlack + 1, live: 5 << 20}, want: true},
		{name: "just busy enough", cur: heapSample{allocated: prev.allocated + quietAllocation, held: 40 << 20, live: 5 << 20}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldReturn(prev, tt.cur); got != tt.want {
				t.Errorf("shouldReturn(%+v, %+v): got %v, want %v", prev, tt.cur, got, tt.want)
			}
		})
	}
}

// syncBuffer is a log destination the test reads while ReturnWhenIdle writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var sink [][]byte

// TestReturnWhenIdleReturnsABurstsHeap makes a burst of garbage, then lets the process
// go quiet: the heap it held must go back to the system without waiting for the
// runtime's scavenger.
func TestReturnWhenIdleReturnsABurstsHeap(t *testing.T) {
	restoreRuntime(t)
	debug.SetGCPercent(GCPercent)
	for i := 0; i < 512; i++ {
		sink = append(sink, make([]byte, 64<<10)) // 32 MiB
	}
	sink = nil
	samples := newSamples()
	if before := readHeap(samples); before.held < before.live+returnSlack {
		t.Fatalf("the burst left %d bytes held beyond the live heap; the test needs more than %d", before.held-before.live, returnSlack)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ReturnWhenIdle(ctx, 20*time.Millisecond, log) }()
	t.Cleanup(func() { cancel(); <-done })
	testwait.For(t, 0, "the idle heap to be returned", func() bool {
		return strings.Contains(logs.String(), "returned idle heap")
	})
	if after := readHeap(samples); after.held > after.live+returnSlack {
		t.Errorf("after the return: %d bytes held, live %d: want at most %d beyond it", after.held, after.live, returnSlack)
	}
}

func TestPageOutSpellOncePerQuietSpellAfterWork(t *testing.T) {
	t.Parallel()
	p := pageOutSpell{busy: true}
	for i, c := range []struct{ worked, want bool }{
		{true, false},  // start-up still running
		{false, true},  // the first interval without work after it
		{false, false}, // still idle: once is enough
		{true, false},  // a login or a transfer
		{true, false},
		{false, true}, // idle again
		{false, false},
	} {
		if got := p.due(c.worked); got != c.want {
			t.Fatalf("interval %d (work %v): page out %v, want %v", i, c.worked, got, c.want)
		}
	}
}
