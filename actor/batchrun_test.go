package actor_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/storage"
)

// Messages that queue in the mailbox while a turn runs (not while it
// awaits: then they wait in the stash, batch_test.go) reach the worker
// one by one; it gathers them into a run of turns (batch.go). These tests
// make the subject spin while messages queue behind it and check that
// each gathered message is still a turn of its own.

const gatherSubjectJS = `
const log = [];
export function receive(msg, ctx) {
  switch (msg.type) {
  case "spin": {
    const end = Date.now() + msg.ms;
    while (Date.now() < end) {}
    return;
  }
  case "ask": ctx.env.gate.call({type: "wait"}).then(() => log.push("reply")); return;
  case "mark":
    log.push("m" + msg.k);
    Promise.resolve().then(() => log.push("j" + msg.k));
    ctx.env.sink.send({type: "note", k: msg.k});
    return msg.k;
  case "boom": log.push("m" + msg.k); throw new Error("boom " + msg.k);
  case "hold": return ctx.env.gate.call({type: "wait"}).then(() => { log.push("held" + msg.k); return "held"; });
  case "burn": { const end = Date.now() + msg.ms; while (Date.now() < end) {} log.push("b" + msg.k); return msg.k; }
  case "log": return log;
  }
}`

func gatherFixture(t *testing.T, lim isolate.Limits) *fixture {
	t.Helper()
	subject := worker(t, "subject", gatherSubjectJS,
		actor.GrantSpec{Name: "gate", To: "gate", Rights: capability.Send},
		actor.GrantSpec{Name: "sink", To: "sink", Rights: capability.Send})
	subject.Limits = lim
	return start(t, isolate.Limits{},
		worker(t, "gate", batchGateJS), worker(t, "sink", batchSinkJS), subject,
		worker(t, "caller", batchCallerJS, actor.GrantSpec{Name: "subject", To: "subject", Rights: capability.Send}))
}

// spin makes the subject's goroutine busy for ms, so that what is sent
// next queues in its mailbox.
func (f *fixture) spin(ms int) { f.send("subject", map[string]any{"type": "spin", "ms": ms}) }

func TestGather_EachTurnRunsItsJobsBeforeTheNextAndRepliesInOrder(t *testing.T) {
	f := gatherFixture(t, isolate.Limits{CPU: 5 * time.Second})
	p, _ := f.node.Lookup("subject")
	before := p.Handled()
	f.spin(300)
	const n = 10
	got := make(chan any, 1)
	go func() {
		v, err := f.call("caller", map[string]any{"n": n, "as": "mark"})
		if err != nil {
			v = err
		}
		got <- v
	}()
	v := <-got
	replies, ok := v.([]any)
	if !ok || len(replies) != n {
		t.Fatalf("the caller got %v, want %d replies", v, n)
	}
	for k, r := range replies {
		if num(r) != int64(k+1) {
			t.Fatalf("reply %d is %v, want %d (all: %v)", k, r, k+1, replies)
		}
	}
	var want []string
	for k := 1; k <= n; k++ {
		want = append(want, fmt.Sprint("m", k), fmt.Sprint("j", k))
	}
	f.wantList("subject", "log", want...)
	if h := p.Handled() - before; h != n+2 { // the spin, the marks, the log
		t.Fatalf("the subject handled %d messages, want %d", h, n+2)
	}
}

func TestGather_AThrowEndsTheRunAtItsMessage(t *testing.T) {
	f := gatherFixture(t, isolate.Limits{CPU: 5 * time.Second})
	p, _ := f.node.Lookup("subject")
	before := p.Handled()
	f.spin(300)
	for k := 1; k <= 6; k++ {
		typ := "mark"
		if k == 4 {
			typ = "boom"
		}
		f.send("subject", map[string]any{"type": typ, "k": k})
	}
	c := f.waitCrash("subject", "error")
	if m := crashMessage(t, c); m["type"] != "boom" || num(m["k"]) != 4 {
		t.Fatalf("the crash report names %v, want the fourth message", m)
	}
	if c.Incarnation != 1 {
		t.Fatalf("the crash is incarnation %d's, want the first's", c.Incarnation)
	}
	// 1-3 had their effects in the first incarnation, 5 and 6 in the next, once.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := f.list("sink", "get"); !reflect.DeepEqual(got, []string{"1", "2", "3", "5", "6"}) {
			return fmt.Errorf("the sink got %q", got)
		}
		return nil
	})
	f.wantList("subject", "log", "m5", "j5", "m6", "j6")
	if n := len(f.crashes("subject")); n != 1 {
		t.Fatalf("%d crashes, want one", n)
	}
	if h := p.Handled() - before; h != 1+6+1 { // the spin, 1-6, the log
		t.Fatalf("the subject handled %d messages, want 8", h)
	}
}

func TestGather_ARunawayTurnIsStoppedAloneAtItsOwnLimit(t *testing.T) {
	// Turns of 60 ms each queue behind the spin under a 100 ms limit:
	// together they are far over it, each alone is not. The fourth never
	// ends and is stopped, alone.
	f := gatherFixture(t, isolate.Limits{CPU: 100 * time.Millisecond})
	f.spin(80)
	for k := 1; k <= 3; k++ {
		f.send("subject", map[string]any{"type": "burn", "k": k, "ms": 60})
	}
	f.send("subject", map[string]any{"type": "burn", "k": 4, "ms": 60_000})
	f.send("subject", map[string]any{"type": "mark", "k": 5})
	c := f.waitCrash("subject", "cpu_limit")
	if m := crashMessage(t, c); num(m["k"]) != 4 {
		t.Fatalf("the cpu_limit crash names %v, want the fourth message", m)
	}
	if n := len(f.crashes("subject")); n != 1 {
		t.Fatalf("%d crashes, want the fourth message's alone: %v", n, f.crashes("subject"))
	}
	f.wantList("subject", "log", "m5", "j5")
	f.wantList("sink", "get", "5")
}

func TestGather_APendingPromiseEndsTheRun(t *testing.T) {
	f := gatherFixture(t, isolate.Limits{CPU: 5 * time.Second})
	f.spin(300)
	f.send("subject", map[string]any{"type": "mark", "k": 1})
	f.send("subject", map[string]any{"type": "hold", "k": 2})
	f.send("subject", map[string]any{"type": "mark", "k": 3})
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if n := num(f.mustCall("gate", map[string]any{"type": "held"})); n != 1 {
			return fmt.Errorf("the gate holds %d calls, want 1", n)
		}
		return nil
	})
	f.wantList("sink", "get", "1") // 3 waits for the held turn
	f.open()
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := f.list("sink", "get"); !reflect.DeepEqual(got, []string{"1", "3"}) {
			return fmt.Errorf("the sink got %q", got)
		}
		return nil
	})
	f.wantList("subject", "log", "m1", "j1", "held2", "m3", "j3")
}

func TestGather_AReplyBehindGatheredMessagesWaitsForThem(t *testing.T) {
	// A reply that reaches the subject after two messages and before a
	// third is handled after the two, before the third, as it would be
	// with no gathering.
	f := gatherFixture(t, isolate.Limits{CPU: 5 * time.Second})
	f.send("subject", map[string]any{"type": "ask"})
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if n := num(f.mustCall("gate", map[string]any{"type": "held"})); n != 1 {
			return fmt.Errorf("the gate holds %d calls, want 1", n)
		}
		return nil
	})
	f.spin(1000)
	f.send("subject", map[string]any{"type": "mark", "k": 1})
	f.send("subject", map[string]any{"type": "mark", "k": 2})
	f.open() // the reply is on its way once the gate has answered
	f.send("subject", map[string]any{"type": "mark", "k": 3})
	f.wantList("subject", "log", "m1", "j1", "m2", "j2", "reply", "m3", "j3")
}

// gatherStoredJS keeps a counter in storage and tells its peer of every
// increment; "boom" writes and sends, then throws.
const gatherStoredJS = `
export function receive(msg, ctx) {
  if (msg.type === "spin") { const end = Date.now() + msg.ms; while (Date.now() < end) {} return 0; }
  if (msg.type === "get") return ctx.storage.get("n") ?? 0;
  if (msg.type === "boom") { ctx.storage.put("n", -100); ctx.env.peer.send("boom"); throw new Error("boom"); }
  const n = (ctx.storage.get("n") ?? 0) + 1;
  ctx.storage.put("n", n);
  ctx.env.peer.send("n=" + n);
  return n;
}`

func TestGather_EachTurnCommitsItsWritesAndReleasesItsOutput(t *testing.T) {
	// Messages gathered behind a spin run as a run of turns: each turn's
	// writes are committed and its sends released before the next, so
	// the crash of the fourth discards its own writes and sends alone.
	rec := worker(t, "rec", storedRecorderJS)
	c := worker(t, "counter", gatherStoredJS, actor.GrantSpec{Name: "peer", To: "rec", Rights: capability.Send})
	c.Storage = true
	c.Limits = isolate.Limits{CPU: 5 * time.Second}
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, storageRoot(rec, c))
	testnode.Send(t, n, "counter", map[string]any{"type": "spin", "ms": 300})
	for k := 1; k <= 6; k++ {
		typ := "inc"
		if k == 4 {
			typ = "boom"
		}
		testnode.Send(t, n, "counter", map[string]any{"type": typ})
	}
	want := []string{"n=1", "n=2", "n=3", "n=4", "n=5"}
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		var seen []string
		testnode.Call(t, n, "rec", "seen", &seen)
		if !reflect.DeepEqual(seen, want) {
			return fmt.Errorf("the peer saw %q, want %q", seen, want)
		}
		return nil
	})
	if got := callInt(t, n, "counter", map[string]any{"type": "get"}); got != 5 {
		t.Fatalf("the counter holds %d, want 5", got)
	}
}
