package testwait

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUntilTrue(t *testing.T) {
	n := 0
	if !Until(time.Second, func() bool { n++; return n == 3 }) {
		t.Fatalf("Until gave up on a condition true at the third poll")
	}
	if n != 3 {
		t.Errorf("cond ran %d times, want 3", n)
	}
}

func TestUntilTimesOut(t *testing.T) {
	start := time.Now()
	if Until(50*time.Millisecond, func() bool { return false }) {
		t.Fatal("Until reported a never-true condition as true")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 5*time.Second {
		t.Errorf("Until returned after %v, want about 50ms", d)
	}
}

// recorder is a testing.TB that records Fatalf instead of stopping the test.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = format
	if len(args) > 0 {
		r.msg = strings.TrimSpace(fmt.Sprintf(format, args...))
	}
}

func TestForNamesTheCondition(t *testing.T) {
	r := &recorder{TB: t}
	For(r, 30*time.Millisecond, "the banner", func() bool { return false })
	if !strings.Contains(r.msg, "waiting for the banner") || !strings.Contains(r.msg, "30ms") {
		t.Errorf("failure %q does not name the condition and the timeout", r.msg)
	}
	r = &recorder{TB: t}
	For(r, time.Second, "something true", func() bool { return true })
	if r.msg != "" {
		t.Errorf("For failed on a true condition: %q", r.msg)
	}
}
