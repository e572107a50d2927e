package actor_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
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

// gatedHandler blocks the first record until released.
type gatedHandler struct {
	slog.Handler
	entered, release chan struct{}
	once             *sync.Once
}

func (g gatedHandler) Handle(ctx context.Context, r slog.Record) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.Handler.Handle(ctx, r)
}

// TestSubscribe_TheLogSaysWhatItLost: when the node's log falls behind, the
// lines it could not keep are counted in the log.
func TestSubscribe_TheLogSaysWhatItLost(t *testing.T) {
	var out lockedBuffer
	g := gatedHandler{Handler: slog.NewTextHandler(&out, nil), entered: make(chan struct{}), release: make(chan struct{}), once: &sync.Once{}}
	n, err := actor.NewNode(actor.Options{Logger: slog.New(g)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := isolate.Compile("counter.js", []byte(typedCounterJS))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{{Name: "counter", Script: s}}}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	// A call answered means the counter's Started event is already queued,
	// ahead of what follows: the log's queue then holds only denials.
	var v int
	if err := n.Call(context.Background(), capTo(t, n, "counter", capability.Send), map[string]string{}, &v); err != nil {
		t.Fatal(err)
	}
	denied := capTo(t, n, "counter", capability.Monitor)
	_ = n.Send(context.Background(), denied, 0) // logged as a denial: the handler blocks
	waitClosed(t, g.entered, "the first log line")
	const lost = 50
	for i := range actor.SubscriptionBuffer + lost {
		_ = n.Send(context.Background(), denied, i)
	}
	close(g.release)
	checkFor(t, hangAfter, time.Millisecond, func() error {
		if !strings.Contains(out.String(), "log lines lost") || !strings.Contains(out.String(), "dropped=50") {
			return fmt.Errorf("no count of the lost lines in the log:\n%.500s", out.String())
		}
		return nil
	})
}
