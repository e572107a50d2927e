package actor_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

// usagePanics is a storage backend whose Usage, which opening a store
// reads, panics once when armed.
type usagePanics struct {
	storage.Backend
	armed  atomic.Bool
	panics atomic.Int32
}

func (b *usagePanics) Usage(slot string) (storage.Usage, error) {
	if b.armed.CompareAndSwap(true, false) {
		b.panics.Add(1)
		panic("usagePanics: backend bug")
	}
	return b.Backend.Usage(slot)
}

// A backend that panics as a worker's store is opened fails that start at
// once, as a storage error with the backend's Go stack, and the supervisor
// restarts the worker as for any failed start. Before, the panic went
// unreported and the start failed only when its start timeout ran out,
// with a report that said nothing of the backend.
func TestStart_AStorageOpenThatPanicsIsAFailedStart(t *testing.T) {
	b := &usagePanics{Backend: storage.NewMemory()}
	n, err := actor.NewNode(actor.Options{Storage: b})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	events := newLifeEvents()
	n.Subscribe(events.record)
	spec := worker(t, "w", `export function receive() { return "ok"; }`)
	spec.Storage = true
	spec.StartTimeout = time.Hour // only a start that fails at once ends before it
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Minute), Children: []actor.ChildSpec{spec}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	w, _ := n.Lookup("w")
	b.armed.Store(true)
	if err := n.Kill(w.ID()); err != nil { // its restart opens the store again
		t.Fatal(err)
	}
	events.await(t, "a crash report for the failed open", func(e actor.Event) bool {
		c, ok := e.(actor.Crashed)
		return ok && c.Crash.Path == "w" && c.Crash.Reason == actor.ReasonStorage
	})
	events.await(t, "a third incarnation of w", func(e actor.Event) bool {
		s, ok := e.(actor.Started)
		return ok && s.Path == "w" && s.Incarnation >= 3
	})
	var found *actor.Crash
	for _, c := range events.crashedFor("w") {
		if c.Reason == actor.ReasonStorage {
			found = c
		}
	}
	if found == nil {
		t.Fatal("no storage crash report for w")
	}
	if !strings.Contains(found.Err.Error(), "panic in opening storage: usagePanics: backend bug") {
		t.Errorf("the crash report's error is %q, want the backend's panic", found.Err)
	}
	if !strings.Contains(found.Stack, "usagePanics") {
		t.Errorf("the crash report's stack does not name the backend:\n%s", found.Stack)
	}
	if got := b.panics.Load(); got != 1 {
		t.Errorf("the backend panicked %d times, want once", got)
	}
}
