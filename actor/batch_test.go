package actor_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"

	"github.com/vmihailenco/msgpack/v5"
)

// A run of queued messages (several waiting when a turn ends) is handled
// back to back on one thread, sharing the watchdog's timer. These tests
// queue messages behind a turn that awaits a gate, so that they are all
// waiting when the gate opens, and check that each message is still its
// own turn: for the CPU limit, crashes, replies, promises, notifications
// and an operator's kill.

// batchSubjectJS logs what it handles; "hold" awaits the gate.
const batchSubjectJS = `
const log = [];
export function receive(msg, ctx) {
  if (ctx.isNotification(msg)) { log.push(msg.type); return; }
  switch (msg.type) {
  case "watch": ctx.env.victim.monitor({}); return "ok";
  case "hold": return ctx.env.gate.call({type: "wait"}).then(() => { log.push("held" + msg.k); return "held"; });
  case "note": log.push(msg.k); ctx.env.sink.send({type: "note", k: msg.k}); return msg.k;
  case "boom": log.push(msg.k); throw new Error("boom " + msg.k);
  case "spin": {
    ctx.env.sink.send({type: "note", k: msg.k});
    const end = Date.now() + msg.ms;
    while (Date.now() < end) {}
    log.push(msg.k);
    return msg.k;
  }
  case "log": return log;
  }
}`

// batchGateJS holds the replies to "wait" until "open".
const batchGateJS = `
const held = [];
export function receive(msg, ctx) {
  if (msg.type === "wait") { held.push(ctx.deferReply()); return; }
  if (msg.type === "held") return held.length;
  if (msg.type === "open") { const n = held.length; while (held.length) held.shift().reply("open"); return n; }
}`

const batchSinkJS = `
const got = [];
export function receive(msg) {
  if (msg.type === "note") { got.push(msg.k); return; }
  if (msg.type === "get") return got;
  if (msg.type === "boom") throw new Error("boom");
}`

// batchCallerJS calls the subject msg.n times without awaiting in
// between, with messages of type msg.as ("note" if not given).
const batchCallerJS = `
export function receive(msg, ctx) {
  const ps = [];
  for (let k = 1; k <= msg.n; k++) ps.push(ctx.env.subject.call({type: msg.as || "note", k}));
  return Promise.all(ps);
}`

func batchFixture(t *testing.T, subjectLimits isolate.Limits) *fixture {
	t.Helper()
	subject := worker(t, "subject", batchSubjectJS,
		actor.GrantSpec{Name: "gate", To: "gate", Rights: capability.Send},
		actor.GrantSpec{Name: "sink", To: "sink", Rights: capability.Send},
		actor.GrantSpec{Name: "victim", To: "victim", Rights: capability.All})
	subject.Limits = subjectLimits
	return start(t, isolate.Limits{},
		worker(t, "gate", batchGateJS), worker(t, "sink", batchSinkJS), worker(t, "victim", batchSinkJS),
		subject,
		worker(t, "caller", batchCallerJS, actor.GrantSpec{Name: "subject", To: "subject", Rights: capability.Send}))
}

func (f *fixture) send(path string, m map[string]any) {
	f.t.Helper()
	b, err := msgpack.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := sendBytes(f.node, f.cap(path), b); err != nil {
		f.t.Fatal(err)
	}
}

// hold makes the subject await the gate, so that what is sent next queues.
func (f *fixture) hold(k int) {
	f.t.Helper()
	f.send("subject", map[string]any{"type": "hold", "k": k})
	checkFor(f.t, 5*time.Second, time.Millisecond, func() error {
		if n := num(f.mustCall("gate", map[string]any{"type": "held"})); n != 1 {
			return fmt.Errorf("the gate holds %d calls, want 1", n)
		}
		return nil
	})
}

// queued waits until path has n messages waiting.
func (f *fixture) queued(path string, n int64) {
	f.t.Helper()
	p, _ := f.node.Lookup(path)
	checkFor(f.t, 5*time.Second, time.Millisecond, func() error {
		if d := p.MailboxDepth(); d != n {
			return fmt.Errorf("%s has %d messages waiting, want %d", path, d, n)
		}
		return nil
	})
}

func (f *fixture) open() { f.mustCall("gate", map[string]any{"type": "open"}) }

// list returns the answer of path to {type: what} as a list of strings.
func (f *fixture) list(path, what string) []string {
	f.t.Helper()
	v, ok := f.mustCall(path, map[string]any{"type": what}).([]any)
	if !ok {
		f.t.Fatalf("%s answered %q with %T, want a list", path, what, v)
	}
	out := make([]string, len(v))
	for k, e := range v {
		out[k] = fmt.Sprint(e)
	}
	return out
}

func (f *fixture) wantList(path, what string, want ...string) {
	f.t.Helper()
	if got := f.list(path, what); !reflect.DeepEqual(got, want) {
		f.t.Fatalf("%s %s = %q, want %q", path, what, got, want)
	}
}

// crashMessage decodes the message in a crash report.
func crashMessage(t *testing.T, c *actor.Crash) map[string]any {
	t.Helper()
	var m map[string]any
	if err := msgpack.Unmarshal(c.Message, &m); err != nil {
		t.Fatalf("crash report's message: %v", err)
	}
	return m
}

func TestBatch_ACrashInTheRunNamesItsMessageAndLeavesTheRestQueued(t *testing.T) {
	f := batchFixture(t, isolate.Limits{})
	f.hold(0)
	for k := 1; k <= 5; k++ {
		typ := "note"
		if k == 3 {
			typ = "boom"
		}
		f.send("subject", map[string]any{"type": typ, "k": k})
	}
	f.queued("subject", 5)
	f.open()
	c := f.waitCrash("subject", "error")
	if m := crashMessage(t, c); m["type"] != "boom" || num(m["k"]) != 3 {
		t.Fatalf("the crash report names %v, want the third message", m)
	}
	// 1 and 2 had their effects; 4 and 5 reach the next incarnation, once.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := f.list("sink", "get"); !reflect.DeepEqual(got, []string{"1", "2", "4", "5"}) {
			return fmt.Errorf("the sink got %q", got)
		}
		return nil
	})
	f.wantList("subject", "log", "4", "5")
}

func TestBatch_EachCallInTheRunGetsItsOwnReplyInOrder(t *testing.T) {
	f := batchFixture(t, isolate.Limits{})
	f.hold(0)
	const n = 20
	got := make(chan any, 1)
	go func() {
		v, err := f.call("caller", map[string]any{"n": n})
		if err != nil {
			v = err
		}
		got <- v
	}()
	f.queued("subject", n)
	f.open()
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
}

func TestBatch_APendingPromiseEndsTheRun(t *testing.T) {
	f := batchFixture(t, isolate.Limits{})
	f.hold(0)
	f.send("subject", map[string]any{"type": "note", "k": 1})
	f.send("subject", map[string]any{"type": "hold", "k": 2})
	f.send("subject", map[string]any{"type": "note", "k": 3})
	f.queued("subject", 3)
	f.open()
	// The second hold awaits the gate: 3 waits for it, not the other way.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if n := num(f.mustCall("gate", map[string]any{"type": "held"})); n != 1 {
			return fmt.Errorf("the gate holds %d calls, want 1", n)
		}
		return nil
	})
	f.open()
	f.wantList("subject", "log", "held0", "1", "held2", "3")
}

func TestBatch_ANotificationKeepsItsPlaceAmongQueuedMessages(t *testing.T) {
	f := batchFixture(t, isolate.Limits{})
	f.mustCall("subject", map[string]any{"type": "watch"})
	f.hold(0)
	f.send("subject", map[string]any{"type": "note", "k": 1})
	f.send("subject", map[string]any{"type": "note", "k": 2})
	f.send("victim", map[string]any{"type": "boom"})
	f.queued("subject", 3) // the two notes and the victim's down notification
	f.send("subject", map[string]any{"type": "note", "k": 3})
	f.queued("subject", 4)
	f.open()
	f.wantList("subject", "log", "held0", "1", "2", "down", "3")
}

func TestBatch_EachTurnInTheRunHasItsOwnCPULimit(t *testing.T) {
	// Three turns of 60 ms each run back to back under a 100 ms limit: a
	// turn charged its predecessors' time would be stopped. (Each spins
	// for 60 ms of wall time, and uses at most that much CPU.) The fourth
	// spins past the limit and is stopped, alone.
	f := batchFixture(t, isolate.Limits{CPU: 100 * time.Millisecond})
	f.hold(0)
	for k := 1; k <= 3; k++ {
		f.send("subject", map[string]any{"type": "spin", "k": k, "ms": 60})
	}
	f.send("subject", map[string]any{"type": "spin", "k": 4, "ms": 60_000})
	f.send("subject", map[string]any{"type": "note", "k": 5})
	f.queued("subject", 5)
	f.open()
	c := f.waitCrash("subject", "cpu_limit")
	if m := crashMessage(t, c); num(m["k"]) != 4 {
		t.Fatalf("the cpu_limit crash names %v, want the fourth message", m)
	}
	if n := len(f.crashes("subject")); n != 1 {
		t.Fatalf("%d crashes, want the fourth message's alone: %v", n, f.crashes("subject"))
	}
	f.wantList("subject", "log", "5")
	f.wantList("sink", "get", "1", "2", "3", "4", "5")
}

func TestBatch_AKillEndsTheRunAtOnce(t *testing.T) {
	f := batchFixture(t, isolate.Limits{CPU: time.Minute})
	f.hold(0)
	f.send("subject", map[string]any{"type": "spin", "k": 1, "ms": 60_000})
	f.send("subject", map[string]any{"type": "note", "k": 2})
	f.send("subject", map[string]any{"type": "note", "k": 3})
	f.queued("subject", 3)
	f.open()
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := f.list("sink", "get"); len(got) != 1 {
			return fmt.Errorf("the sink got %q, want the spinning turn's note", got)
		}
		return nil
	})
	p, _ := f.node.Lookup("subject")
	if err := f.node.Kill(p.ID()); err != nil {
		t.Fatal(err)
	}
	f.waitCrash("subject", actor.ReasonKilled)
	// The spinning turn was ended, not left to its minute. The rest of the run was not started by the killed incarnation: the
	// next one handles it, once.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := f.list("sink", "get"); !reflect.DeepEqual(got, []string{"1", "2", "3"}) {
			return fmt.Errorf("the sink got %q", got)
		}
		return nil
	})
	f.wantList("subject", "log", "2", "3")
}

// floodJS keeps its own mailbox full: every turn sends itself another
// message, so its mailbox's run never ends until "halt".
const floodJS = `
let halted = false, n = 0;
export function receive(msg, ctx) {
  if (msg.type === "go") { for (let k = 0; k < 50; k++) ctx.self.send({type: "more"}); return; }
  if (msg.type === "halt") { halted = true; return; }
  if (msg.type === "more" && !halted) { n++; ctx.self.send({type: "more"}); }
}`

func TestDispatch_FloodedMailboxesDoNotStarveOthers(t *testing.T) {
	// Two mailboxes that never empty, one per core, and a third process
	// that must still answer while they run.
	f := start(t, isolate.Limits{}, worker(t, "flood1", floodJS), worker(t, "flood2", floodJS), worker(t, "counter", counterJS))
	f.send("flood1", map[string]any{"type": "go"})
	f.send("flood2", map[string]any{"type": "go"})
	p1, _ := f.node.Lookup("flood1")
	p2, _ := f.node.Lookup("flood2")
	checkFor(t, 10*time.Second, time.Millisecond, func() error {
		if p1.Handled() < 1000 || p2.Handled() < 1000 {
			return fmt.Errorf("the floods have handled %d and %d messages", p1.Handled(), p2.Handled())
		}
		return nil
	})
	for k := 1; k <= 20; k++ {
		if got := num(f.mustCall("counter", map[string]any{"type": "inc"})); got != int64(k) {
			t.Fatalf("call %d answered %d", k, got)
		}
	}
	if p1.MailboxDepth() == 0 || p2.MailboxDepth() == 0 {
		t.Fatal("a flood ended by itself")
	}
	f.send("flood1", map[string]any{"type": "halt"})
	f.send("flood2", map[string]any{"type": "halt"})
}

func TestCall_TimeoutsExpireEachAtItsOwnTime(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "gate", batchGateJS),
		worker(t, "caller", `
export async function receive(msg, ctx) {
  const order = [];
  const wait = (t) => ctx.env.gate.call({type: "wait"}, {timeout: t}).then(
    () => order.push("answered " + t), (e) => order.push(e.name + " " + t));
  await Promise.all([wait(300), wait(30), wait(100)]);
  return order;
}`, actor.GrantSpec{Name: "gate", To: "gate", Rights: capability.Send}))
	f.wantList("caller", "go", "TimeoutError 30", "TimeoutError 100", "TimeoutError 300")
}
