// Package gcpolicy sets how the Go runtime collects garbage in every jobsshd process
// (the agent and the transfer programs it runs as the user), and returns the memory a
// burst of work left behind once the agent is quiet again.
//
// x/crypto/ssh allocates a fresh buffer for every packet it reads (one 32 KiB packet is
// one allocation), so an upload or a -L forward allocates as fast as it moves bytes, and
// with the runtime's default GOGC=100 and the agent's small live heap the collector ran
// every few MiB: issue 14 measured a -L forward at 0.91× OpenSSH with 1.31× its CPU,
// and at 1.09× with 0.71× its CPU under GOGC=400 (BENCHMARKS.md). A higher GOGC alone
// would let a busy agent hold five times its live heap, so a soft memory limit caps
// that; and since a higher GOGC also lets garbage sit longer, ReturnWhenIdle hands it
// back to the system once the work has stopped instead of leaving it to the runtime's
// background scavenger, which took minutes.
package gcpolicy

import (
	"runtime/debug"
)

const (
	// GCPercent is the agent's GOGC: the heap may grow to five times what survived the
	// last collection before the next one. Packet buffers die young, so a collection
	// costs about the same whatever the garbage, and running a fifth as often saves
	// most of it.
	GCPercent = 400
	// MemoryLimit is the agent's soft memory limit (GOMEMLIMIT): past it the collector
	// runs as often as it must (the runtime caps that at about half the CPU), so that
	// GCPercent's head room never grows the agent beyond what GOGC=100 peaked at under
	// 200 busy connections (130-150 MiB). Live memory above it is not refused: the
	// limit is soft.
	MemoryLimit = 96 << 20
)

// Apply sets GCPercent and MemoryLimit, each unless the operator set its environment
// variable (GOGC, GOMEMLIMIT; getenv is os.Getenv outside tests): the runtime has
// already read those at start, and the operator's choice wins.
func Apply(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
