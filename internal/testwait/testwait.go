// Package testwait is the one polling helper of the tests: wait, for a bounded time,
// until a condition holds. Tests use it where no event tells them that something
// happened (a process exited, a file appeared, a log line was written); where an event
// does (a reply on the same connection, a banner), they wait for that instead.
package testwait

import (
	"testing"
	"time"
)

// Interval is how often a condition is polled.
const Interval = 20 * time.Millisecond

// Default is the timeout for conditions that hold within moments on a healthy machine;
// it is generous because the tests share busy machines.
const Default = 10 * time.Second

// Until polls cond every Interval until it is true, and reports whether it became true
// within timeout (Default if timeout is not positive). cond runs at least once.
func Until(timeout time.Duration, cond func() bool) bool {
	if timeout <= 0 {
		timeout = Default
	}
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(Interval)
	}
}

// For fails t unless cond becomes true within timeout; the failure says what was awaited
// ("the agent's log to mention the refusal") and for how long.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if timeout <= 0 {
		timeout = Default
	}
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
