package actor_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
)

// hangAfter is how long a test waits before it calls a wait a hang; it
// bounds a deadlock, it is no timing assertion.
const hangAfter = 10 * time.Second

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangAfter):
		t.Fatalf("%s: hung", what)
	}
}

// TestSubscribe_FromInsideACallback: a subscriber that subscribes another,
// closes itself and looks processes up from its callback does not deadlock,
// and the new subscriber gets the events that follow.
func TestSubscribe_FromInsideACallback(t *testing.T) {
	n := startTyped(t, map[string]string{"counter": typedCounterJS})
	denied := capTo(t, n, "counter", capability.Monitor)
	ctx := context.Background()

	second := make(chan actor.Event, 16)
	subscribed := make(chan struct{})
	var mu sync.Mutex
	var inner *actor.Subscription
	var first *actor.Subscription
	first = n.Subscribe(func(e actor.Event) {
		if _, ok := e.(actor.Denied); !ok {
			return
		}
		n.Lookup("counter")
		mu.Lock()
		defer mu.Unlock()
		if inner == nil {
			inner = n.Subscribe(func(e actor.Event) { second <- e })
			first.Close()
			close(subscribed)
		}
	})
	if err := n.Send(ctx, denied, 1); err == nil {
		t.Fatal("a send without the right went through")
	}
	waitClosed(t, subscribed, "subscribing from a callback")
	waitClosed(t, first.Done(), "closing a subscription from its own callback")
	if err := n.Send(ctx, denied, 2); err == nil {
		t.Fatal("a send without the right went through")
	}
	select {
	case e := <-second:
		if _, ok := e.(actor.Denied); !ok {
			t.Fatalf("the new subscriber got %T, want Denied", e)
		}
	case <-time.After(hangAfter):
		t.Fatal("the subscriber added from a callback got nothing")
	}
	mu.Lock()
	inner.Close()
	mu.Unlock()
}

// TestSubscribe_SlowSubscriberDropsAndCounts: a subscriber that does not
// keep up never holds up the node; what does not fit its queue is counted.
func TestSubscribe_SlowSubscriberDropsAndCounts(t *testing.T) {
	n := startTyped(t, map[string]string{"counter": typedCounterJS})
	denied := capTo(t, n, "counter", capability.Monitor)
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	sub := n.Subscribe(func(e actor.Event) {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
	})
	_ = n.Send(ctx, denied, 0)
	waitClosed(t, entered, "the first event")
	// The subscriber is blocked: its queue takes SubscriptionBuffer events.
	const more = actor.SubscriptionBuffer + 100
	for i := range more {
		_ = n.Send(ctx, denied, i)
	}
	if got, want := sub.Dropped(), uint64(more-actor.SubscriptionBuffer); got != want {
		t.Errorf("Dropped() = %d, want %d", got, want)
	}
	// The node is not held up: a call goes through while the subscriber is stuck.
	var v int
	if err := n.Call(ctx, capTo(t, n, "counter", capability.Send), map[string]string{"type": "get"}, &v); err != nil {
		t.Fatal(err)
	}
	close(release)
	sub.Close()
	waitClosed(t, sub.Done(), "Close")
	if got := calls.Load(); got > 1+actor.SubscriptionBuffer {
		t.Errorf("the subscriber was called %d times, more than it could have queued", got)
	}
}

// TestSubscribe_EndsWithTheNode: a subscription's goroutine ends when the
// node shuts down, after delivering what was queued, and a callback may shut
// the node down itself.
func TestSubscribe_EndsWithTheNode(t *testing.T) {
	const boomJS = `export function receive(msg) { throw new Error("boom"); }`
	n := startTyped(t, map[string]string{"echo": boomJS})
	var stopped atomic.Int64
	sub := n.Subscribe(func(e actor.Event) {
		switch e.(type) {
		case actor.Crashed:
			_ = n.Shutdown(context.Background()) // from the callback: must not deadlock
		case actor.Stopped:
			stopped.Add(1)
		}
	})
	if err := n.Send(context.Background(), capTo(t, n, "echo", capability.Send), 1); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, sub.Done(), "the subscription after the node's shutdown")
	if err := n.Wait(); err != nil {
		t.Fatal(err)
	}
	if stopped.Load() == 0 {
		t.Error("the events of the shutdown were not delivered before the subscription ended")
	}
	late := n.Subscribe(func(actor.Event) { t.Error("a subscriber to a node that has shut down was called") })
	waitClosed(t, late.Done(), "a subscription to a node that has shut down")
	late.Close()
	sub.Close()
}
