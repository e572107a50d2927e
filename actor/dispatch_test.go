package actor_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
)

func TestDispatch_MoreLongRunsThanPooledGoroutines(t *testing.T) {
	// The dispatcher pools two goroutines per core. More mailboxes that
	// never empty than that hold every pooled goroutine; a third process's
	// wake-up must still get one of its own and answer.
	floods := 2*runtime.GOMAXPROCS(0) + 2
	specs := []actor.ChildSpec{worker(t, "counter", counterJS)}
	for k := range floods {
		specs = append(specs, worker(t, fmt.Sprintf("flood%d", k), floodJS))
	}
	f := start(t, isolate.Limits{}, specs...)
	procs := make([]*actor.Process, floods)
	for k := range floods {
		name := fmt.Sprintf("flood%d", k)
		f.send(name, map[string]any{"type": "go"})
		procs[k], _ = f.node.Lookup(name)
	}
	defer func() {
		for k := range floods {
			f.send(fmt.Sprintf("flood%d", k), map[string]any{"type": "halt"})
		}
	}()
	checkFor(t, 20*time.Second, time.Millisecond, func() error {
		for k, p := range procs {
			if p.Handled() < 200 {
				return fmt.Errorf("flood %d has handled %d messages", k, p.Handled())
			}
		}
		return nil
	})
	for k := 1; k <= 20; k++ {
		if got := num(f.mustCall("counter", map[string]any{"type": "inc"})); got != int64(k) {
			t.Fatalf("call %d answered %d", k, got)
		}
	}
	for k, p := range procs {
		if p.MailboxDepth() == 0 {
			t.Fatalf("flood %d ended by itself", k)
		}
	}
}
