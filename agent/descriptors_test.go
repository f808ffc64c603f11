package agent

import "testing"

// TestDescriptorBudget: sessions and forwards each get half of what is left after the
// reserve, and one class running out leaves the other its share.
func TestDescriptorBudget(t *testing.T) {
	t.Parallel()
	if got := descriptorReserve(1024); got != 256 {
		t.Errorf("reserve of 1024: got %d, want 256", got)
	}
	if got := descriptorReserve(100); got != 64 {
		t.Errorf("reserve of 100: got %d, want at least 64", got)
	}
	b := &descriptorBudget{perClass: (1024 - descriptorReserve(1024)) / 2} // 384 each
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
