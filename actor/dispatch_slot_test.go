package actor_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// sinkJS logs each message's index under its tag.
const sinkJS = `
const log = {};
export function receive(msg) {
  if (msg.type === "get") return log[msg.tag] ?? [];
  (log[msg.tag] ??= []).push(msg.i);
  return msg.i;
}`

// senderJS reaches the sink three ways whose wake-ups take a run's slot
// and are handed on from it: awaited calls (a ping-pong), one send per
// turn with the run going on to its next message, and a burst in one turn.
const senderJS = `
export async function receive(msg, ctx) {
  if (msg.type === "calls") {
    for (let i = 0; i < msg.n; i++) await ctx.env.sink.call({tag: "call", i});
    return msg.n;
  }
  if (msg.type === "relay") {
    ctx.env.sink.send({tag: "relay", i: msg.i});
    if (msg.i + 1 < msg.n) ctx.self.send({type: "relay", i: msg.i + 1, n: msg.n});
    return;
  }
  if (msg.type === "burst") {
    for (let i = 0; i < msg.n; i++) ctx.env.sink.send({tag: "burst", i});
  }
}`

// Per mailbox, messages run in the order they were sent, each once,
// whichever goroutine the dispatcher gives the receiving run.
func TestDispatch_SlotsKeepMailboxOrder(t *testing.T) {
	runOrderedTraffic(t, 300, nil)
}

// runOrderedTraffic has a caller, a relay and a burst each send n
// messages to one sink, after setup (if any) has seen the node, and checks
// that the sink got each sender's messages once and in order.
func runOrderedTraffic(t *testing.T, n int, setup func(*fixture)) *fixture {
	t.Helper()
	grant := actor.GrantSpec{Name: "sink", To: "sink", Rights: capability.Send}
	f := start(t, isolate.Limits{},
		worker(t, "sink", sinkJS),
		worker(t, "caller", senderJS, grant),
		worker(t, "relay", senderJS, grant),
		worker(t, "burst", senderJS, grant))
	if setup != nil {
		setup(f)
	}
	f.send("relay", map[string]any{"type": "relay", "i": 0, "n": n})
	f.send("burst", map[string]any{"type": "burst", "n": n})
	if got := num(f.mustCall("caller", map[string]any{"type": "calls", "n": n})); got != int64(n) {
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
	return f
}
