package isolate

import (
	"testing"

	"golang.org/x/sys/unix"
)

// A pin that follows another on its thread knows the thread without
// asking, and takes none of the other's clock reading: that reading
// belongs to another process's turns.
func TestPin_FollowKeepsTheThreadNotTheReading(t *testing.T) {
	p := PinThread()
	if _, ok := p.turnClock(); !ok {
		t.Fatal("a pin's turn clock is unavailable")
	}
	p.clock.stop() // turnClock locked once more for the turn
	p.base, p.baseAt = 1, monoNow()
	f := p.Follow()
	p.Unpin()
	defer f.Unpin()
	if !f.known || f.clock.id != threadCPUClock(unix.Gettid()) {
		t.Fatalf("the following pin knows its thread %v as clock %d, want clock %d", f.known, f.clock.id, threadCPUClock(unix.Gettid()))
	}
	if f.base != 0 || !f.baseAt.IsZero() {
		t.Fatalf("the following pin took the clock reading %v at %v", f.base, f.baseAt)
	}
}
