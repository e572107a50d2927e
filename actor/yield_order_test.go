package actor_test

import (
	"testing"

	"github.com/cloister-rt/cloister/actor"
)

// Runs that yield their CPU at every message, under a new pin each time,
// still run each mailbox's messages once and in order, and the turns
// after a yield run on the new pin (a crash or a wrong clock would show).
func TestDispatch_YieldingRunsKeepMailboxOrder(t *testing.T) {
	const n = 300
	f := runOrderedTraffic(t, n, func(f *fixture) { actor.SetRunSlice(f.node, 0) })
	// The sink alone handled 3n messages, each past a look at the clock
	// that found its slice used up; the runs on goroutines of their own
	// (a full queue, after stop) do not yield, and there are none here.
	if got := actor.RunYields(f.node); got < 3*n {
		t.Fatalf("%d yields, want at least %d: one per message the sink handled", got, 3*n)
	}
}
