package gcpolicy

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

const (
	// ReturnInterval is how often ReturnWhenIdle looks at the heap. Reading four
	// runtime metrics costs microseconds; the release itself (a full collection, then
	// every free page handed back) happens at most once per quiet spell.
	ReturnInterval = 2 * time.Second
	// quietAllocation is the most the process may allocate in one ReturnInterval and
	// still count as quiet: one login or one small session is well under it, a transfer
	// (one allocation per packet) far above.
	quietAllocation = 1 << 20
	// returnSlack is how far the heap the process holds may exceed its live heap
	// before a quiet spell hands the rest back.
	returnSlack = 2 << 20
)

// heapSample is what ReturnWhenIdle reads each interval.
type heapSample struct {
	allocated uint64 // bytes allocated since the process started
	held      uint64 // heap memory holding objects (live or not yet collected) or free but not returned
	live      uint64 // bytes live after the last collection
}

// shouldReturn reports whether the process was quiet between prev and cur and holds
// more than returnSlack beyond its live heap.
func shouldReturn(prev, cur heapSample) bool {
	return cur.allocated-prev.allocated < quietAllocation && cur.held > cur.live+returnSlack
}

var sampleNames = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
}

func newSamples() []metrics.Sample {
	samples := make([]metrics.Sample, len(sampleNames))
	for i, name := range sampleNames {
		samples[i].Name = name
	}
	return samples
}

func readHeap(samples []metrics.Sample) heapSample {
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0 // not in this runtime: the sample then never asks for a release
		}
		return samples[i].Value.Uint64()
	}
	return heapSample{allocated: v(0), held: v(1) + v(2), live: v(3)}
}

// ReturnWhenIdle hands the heap that a burst of work left behind back to the system
// once the process has been quiet for an interval (see shouldReturn), every interval
// until ctx ends. Without it, GCPercent's garbage and the freed pages stayed resident
// for minutes after a burst (57-72 MiB against 15 MiB idle, issue 14): the runtime's
// scavenger returns memory slowly on purpose, and a quiet process does not collect.
// The first interval without work after work also pages out the program's code
// (pageOutSpell).
func ReturnWhenIdle(ctx context.Context, every time.Duration, log *slog.Logger) {
	samples := newSamples()
	tick := time.NewTicker(every)
	defer tick.Stop()
	prev := readHeap(samples)
	spell := pageOutSpell{busy: true} // start-up was work
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cur := readHeap(samples)
		if shouldReturn(prev, cur) {
			// Two collections: what sync.Pools held (the agent's copy buffers) survives
			// the first in the pools' victim cache and is freed by the second
			// (golang/go#22950); FreeOSMemory's own collection is the second.
			runtime.GC()
			debug.FreeOSMemory()
			after := readHeap(samples)
			log.Debug("returned idle heap to the system", "held_before", cur.held, "held_after", after.held, "live", after.live)
			cur = after
		}
		if spell.due(cur.allocated-prev.allocated >= pageOutWork) {
			n, err := pageOutExecutable() // page_out_linux.go
			log.Debug("paged out the program's code", "mapped", n, "err", err)
		}
		prev = cur
	}
}

// pageOutWork is the least an interval allocates when the agent did some work in it
// (start-up, a login, a transfer): a login allocated 144-228 KiB, an idle interval
// nothing (the agent at debug level, one login every few seconds).
const pageOutWork = 32 << 10

// pageOutSpell decides when ReturnWhenIdle pages out the program's code: at the first
// interval without work after one with work, once. Code the idle agent runs faults
// back in by itself; what the work ran stays out until work runs it again (a login
// right after a page-out took about 6 ms longer, BENCHMARKS.md).
type pageOutSpell struct{ busy bool }

// due records whether the last interval had work and reports whether to page out now.
func (p *pageOutSpell) due(worked bool) bool {
	if worked {
		p.busy = true
		return false
	}
	due := p.busy
	p.busy = false
	return due
}
