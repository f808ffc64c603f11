package agent

import (
	"log/slog"
	"net"
	"testing"
)

// TestMemoryGuardDropsTheBiggestHolder pins whom the guard drops: nobody under the
// bound; over it, the connection with the most unread client data, once, counting what
// a dropped connection still holds as freed until discardUnread has run.
func TestMemoryGuardDropsTheBiggestHolder(t *testing.T) {
	g := newMemoryGuard(1)
	var heap uint64
	g.heap = func() uint64 { return heap }
	closed := map[string]int{}
	conns := map[string]*inbound{}
	for _, name := range []string{"bulk", "tiny", "idle"} {
		c1, c2 := net.Pipe()
		t.Cleanup(func() { c1.Close(); c2.Close() })
		_, in, end := g.watch(c1, func() { closed[name]++ }, slog.New(slog.DiscardHandler))
		t.Cleanup(end)
		conns[name] = in
	}
	conns["bulk"].wire.Store(64 << 20)
	conns["bulk"].read.Store(62 << 20) // 2 MiB unread
	conns["tiny"].wire.Store(100 << 20)
	conns["idle"].wire.Store(4 << 10)

	steps := []struct {
		name string
		heap uint64
		want map[string]int
	}{
		{"under the bound", g.bound, map[string]int{}},
		{"over it: the biggest holder", g.bound + 1, map[string]int{"tiny": 1}},
		{"still over, by less than the dropped one holds", g.bound + 50<<20, map[string]int{"tiny": 1}},
		{"over by more than it holds: the next one", g.bound + 101<<20, map[string]int{"tiny": 1, "bulk": 1}},
	}
	for _, s := range steps {
		heap = s.heap
		g.arrivedBytes(memoryCheckEvery)
		if len(closed) != len(s.want) {
			t.Fatalf("%s: closed %v, want %v", s.name, closed, s.want)
		}
		for k, v := range s.want {
			if closed[k] != v {
				t.Fatalf("%s: closed %v, want %v", s.name, closed, s.want)
			}
		}
	}
	// Once the dropped connections have discarded what they held, it no longer counts
	// as being freed: the next look over the bound drops the last one.
	conns["tiny"].discardUnread()
	conns["bulk"].discardUnread()
	heap = g.bound + 1
	g.arrivedBytes(memoryCheckEvery)
	if closed["idle"] != 1 {
		t.Errorf("after the others discarded their data, over the bound: closed %v, want idle dropped too", closed)
	}
}
