package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/supervisor"
)

// A shutdown that overtakes the node's first start aborts it: the child
// whose init is running finishes it and is stopped, no later child starts,
// and Start says why. Before, the root went on starting every remaining
// child (each within its start timeout) and only then stopped them all.
func TestShutdown_DuringFirstStartStartsNoFurtherChild(t *testing.T) {
	before := goleak.IgnoreCurrent()
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var seen []string
	note := func(s string) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	receivers := map[string]func() actor.Receiver{
		"gate": func() actor.Receiver {
			return actor.ReceiverFunc(func(c *actor.Context) {
				switch c.Message().(type) {
				case actor.Init:
					note("gate init")
					close(entered)
					<-release
				case actor.Terminate:
					note("gate terminate")
				}
			})
		},
		"later": func() actor.Receiver {
			return actor.ReceiverFunc(func(c *actor.Context) {
				if _, ok := c.Message().(actor.Init); ok {
					note("later init")
				}
			})
		},
	}
	n, err := actor.NewNode(actor.Options{Receivers: receivers})
	if err != nil {
		t.Fatal(err)
	}
	gate := goChild("gate", "gate")
	gate.StartTimeout = time.Hour // the test releases it; no timeout may decide
	root := oneForOne(gate, goChild("a", "later"), goChild("b", "later"), goChild("c", "later"))
	started := make(chan error, 1)
	go func() { started <- n.Start(root) }()
	<-entered
	// A context already ended: Shutdown marks the node and returns at
	// once, with the stop under way.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("shutdown with an ended context: %v", err)
	}
	close(release)
	err = <-started
	if err == nil || !strings.Contains(err.Error(), "the node is shutting down") {
		t.Fatalf("Start overtaken by a shutdown returned %v, want it to say the node is shutting down", err)
	}
	if err := n.Wait(); err != nil {
		t.Fatalf("the node's end: %v, want an orderly stop", err)
	}
	mu.Lock()
	got := strings.Join(seen, ", ")
	mu.Unlock()
	if got != "gate init, gate terminate" {
		t.Fatalf("what the Go actors saw: %q, want the gate's init and terminate and nothing of the later children", got)
	}
	testkit.NoLeaks(t, before)
}

// A shutdown does not wait out the start timeout of an init that awaits
// (an async init's pending promise): the spawn that waited for it fails
// saying the init was cut short, and the node stops. Before, the
// template supervisor waited the whole start timeout (here an hour)
// before its stop could begin.
func TestShutdown_CutsShortAnInitThatAwaits(t *testing.T) {
	before := goleak.IgnoreCurrent()
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := worker(t, "tmpl", `
export async function init() { await new Promise(() => {}); }
export function receive() {}`)
	tmpl.StartTimeout = time.Hour
	pool := actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(3, time.Second), Template: &tmpl}
	if err := n.Start(oneForOne(pool)); err != nil {
		t.Fatal(err)
	}
	sup, err := n.Capability("pool", capability.All)
	if err != nil {
		t.Fatal(err)
	}
	spawned := make(chan error, 1)
	go func() {
		_, err := n.SpawnKeyed(context.Background(), sup, "k")
		spawned <- err
	}()
	checkFor(t, 20*time.Second, time.Millisecond, func() error {
		if _, ok := n.Lookup("pool/k"); !ok {
			return errors.New("no pool/k yet")
		}
		return nil
	})
	// Generous: the point is the hour of start timeout, not speed.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a spawn awaiting its init: %v", err)
	}
	if err := <-spawned; err == nil || !strings.Contains(err.Error(), "init cut short: the node is shutting down") {
		t.Fatalf("the spawn awaiting its init returned %v, want it cut short", err)
	}
	testkit.NoLeaks(t, before)
}

// A child whose init throws during the node's first start fails the start,
// and its crash is still reported, as a stop: operators see why in the
// events and the metrics, not only in Start's error.
func TestStart_AChildThatFailsTheStartIsReportedAsCrashed(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var crashes []*actor.Crash
	n.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok {
			mu.Lock()
			crashes = append(crashes, c.Crash)
			mu.Unlock()
		}
	})
	bad := worker(t, "bad", `
export function init() { throw new Error("no config"); }
export function receive() {}`)
	if err := n.Start(oneForOne(worker(t, "good", `export function receive() {}`), bad)); err == nil {
		t.Fatal("a start with a child whose init throws succeeded")
	}
	if err := n.Wait(); err != nil && !errors.Is(err, actor.ErrRootFailed) {
		t.Fatalf("the node's end: %v", err)
	}
	checkFor(t, 20*time.Second, time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range crashes {
			if c.Path == "bad" && c.Action == actor.ActionStop && strings.Contains(c.Err.Error(), "no config") {
				return nil
			}
		}
		return fmt.Errorf("no Crashed event for bad with action stop naming its error; got %d crashes", len(crashes))
	})
}
