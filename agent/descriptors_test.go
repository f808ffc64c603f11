package agent

import (
	"log/slog"
	"strings"
	"testing"
)

// TestDescriptorBudget: sessions and forwards each get half of what is left after the
// reserve, and one class running out leaves the other its share.
func TestDescriptorBudget(t *testing.T) {
	t.Parallel()
	b := &descriptorBudget{perClass: 384}
	forwards := 0
	for b.acquire(classForward) {
		forwards++
	}
	if forwards != 384 {
		t.Errorf("forwards admitted: got %d, want 384", forwards)
	}
	sessions := 0
	for b.acquire(classSession) {
		sessions++
	}
	if want := 384 / descriptorsPerSession; sessions != want {
		t.Errorf("sessions admitted with the forwards' share spent: got %d, want %d", sessions, want)
	}
	if b.room(classForward) {
		t.Error("room for a listener with the forwards' share spent")
	}
	b.release(classForward)
	if !b.room(classForward) {
		t.Error("no room for a listener after a forward was released")
	}
	b.hold(classForward) // a listener
	if b.acquire(classForward) || b.room(classForward) {
		t.Error("a listener's descriptor is not counted")
	}
	b.release(classForward)
	if !b.acquire(classForward) || b.acquire(classForward) {
		t.Error("after the listener closed, want exactly one more forward admitted")
	}
	var none *descriptorBudget
	if !none.acquire(classSession) {
		t.Error("a nil budget refused")
	}
}

// TestDescriptorReserve: the reserve holds a socket for every connection the limits
// admit, logged in, unauthenticated or being refused, and the runtime's own; and a
// limit too small for the configured limits is said at start.
func TestDescriptorReserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		limit, conns, unauth int
		want                 int
	}{
		{name: "default limits", limit: 2048, conns: 256, unauth: 64, want: 256 + 64 + maxRefusing + maxEvictedHeld + descriptorSlack},
		{name: "small limit, default limits", limit: 1024, conns: 256, unauth: 64, want: 512},
		{name: "large limit", limit: 1 << 20, conns: 256, unauth: 64, want: 1 << 18},
		{name: "limit too small for the limits", limit: 300, conns: 256, unauth: 64, want: 150},
		{name: "more connections", limit: 8192, conns: 2000, unauth: 64, want: 2000 + 64 + maxRefusing + maxEvictedHeld + descriptorSlack},
	}
	for _, tt := range tests {
		if got := descriptorReserve(tt.limit, tt.conns, tt.unauth); got != tt.want {
			t.Errorf("%s: reserve of %d: got %d, want %d", tt.name, tt.limit, got, tt.want)
		}
	}
	// An open-file limit of 20,000: 7,500 session descriptors, 937 sessions, at most
	// 468 of them left running after their connection.
	b := descriptorBudgetFor(20000, 256, 64)
	if b.perClass != 7500 || b.maxLingering() != 468 {
		t.Errorf("limit 20000: got %d per class and %d lingering, want 7500 and 468", b.perClass, b.maxLingering())
	}

	cfg := Config{MaxConnections: 256, MaxUnauthenticated: 64, MaxSessions: 64}
	for _, tt := range []struct {
		limit uint64
		warn  bool
	}{{limit: 1024, warn: true}, {limit: 1 << 16, warn: false}} {
		var out jsonLog
		b, err := newDescriptorBudgetWithLimit(tt.limit, cfg, slog.New(slog.NewJSONHandler(&out, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.String(), "open-file limit is too small"); got != tt.warn {
			t.Errorf("limit %d (%d sessions in all): warned %v, want %v: %s", tt.limit, b.perClass/descriptorsPerSession, got, tt.warn, out.String())
		}
	}
}
