package actor_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// A call answer that panics as its callee retires does not keep the other
// callers waiting on the same callee from their answers: each of them is
// told at once that the callee stopped, and the panic is still reported.
func TestShutdown_APanickingAnswerLeavesTheOthersAnswered(t *testing.T) {
	const others = 8
	var told [others]atomic.Int32
	var wrong atomic.Value
	idle := func() actor.Receiver { return actor.ReceiverFunc(func(*actor.Context) {}) }
	opts := actor.Options{Receivers: map[string]func() actor.Receiver{"idle": idle}}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
		Children: []actor.ChildSpec{worker(t, "a", readyJS), {Name: "g", Go: "idle"}}}
	shutdownAfterPanic(t, opts, root, func(n *actor.Node) {
		p, _ := n.Lookup("g")
		// Registered in a map: which comes first as the callee
		// retires varies from run to run.
		if err := actor.PendCall(p, func(error) { panic("answer bug") }); err != nil {
			t.Fatal(err)
		}
		for k := range others {
			if err := actor.PendCall(p, func(err error) {
				told[k].Add(1)
				if !errors.Is(err, isolate.ErrNoProc) {
					wrong.Store(err)
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
	}, "g", "after it stopped", "answer bug")
	for k := range others {
		if got := told[k].Load(); got != 1 {
			t.Errorf("caller %d was answered %d times, want once", k, got)
		}
	}
	if err := wrong.Load(); err != nil {
		t.Errorf("a caller was answered %v, want ErrNoProc", err)
	}
}
