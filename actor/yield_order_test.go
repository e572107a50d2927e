package actor_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// This file sorts after pretouch_test.go on purpose: TestNewNode_PretouchHeap
// counts the faults of a fresh 8 MiB allocation, none once earlier tests in
// the process have left that much free heap resident.

// Runs that yield their CPU at every message, under a new pin each time,
// still run each mailbox's messages once and in order, and the turns
// after a yield run on the new pin (a crash or a wrong clock would show).
func TestDispatch_YieldingRunsKeepMailboxOrder(t *testing.T) {
	const n = 300
	grant := actor.GrantSpec{Name: "sink", To: "sink", Rights: capability.Send}
	f := start(t, isolate.Limits{},
		worker(t, "sink", sinkJS),
		worker(t, "caller", senderJS, grant),
		worker(t, "relay", senderJS, grant),
		worker(t, "burst", senderJS, grant))
	actor.SetRunSlice(f.node, 0)
	f.send("relay", map[string]any{"type": "relay", "i": 0, "n": n})
	f.send("burst", map[string]any{"type": "burst", "n": n})
	if got := num(f.mustCall("caller", map[string]any{"type": "calls", "n": n})); got != n {
		t.Fatalf("the caller made %d calls, want %d", got, n)
	}
	for _, tag := range []string{"call", "relay", "burst"} {
		var log []any
		checkFor(t, 20*time.Second, time.Millisecond, func() error {
			log, _ = f.mustCall("sink", map[string]any{"type": "get", "tag": tag}).([]any)
			if len(log) < n {
				return fmt.Errorf("the sink has %d %s messages of %d", len(log), tag, n)
			}
			return nil
		})
		checkInOrder(t, log, n)
	}
	// The sink alone handled 3n messages, each past a look at the clock
	// that found its slice used up; the runs on goroutines of their own
	// (a full queue, after stop) do not yield, and there are none here.
	if got := actor.RunYields(f.node); got < 3*n {
		t.Fatalf("%d yields, want at least %d: one per message the sink handled", got, 3*n)
	}
}
