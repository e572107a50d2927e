package isolate

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
)

// Turns that follow each other closely share the watchdog's timer; each
// is still timed and stopped on its own.

const runJS = `
let n = 0;
export function receive(m) {
  if (m.type === "spin") { const end = Date.now() + m.ms; while (Date.now() < end) {} }
  if (m.type === "forever") while (true) {}
  return ++n;
}`

func runMsg(t *testing.T, m map[string]any) *mailbox.Envelope {
	t.Helper()
	b, err := msgpack.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return mailbox.NewEnvelope(b, nil)
}

func receiveNow(t *testing.T, i *Isolate, env *mailbox.Envelope) Outcome {
	t.Helper()
	var out *Outcome
	i.Receive(env, true, func(o Outcome) { out = &o })
	if out == nil {
		t.Fatal("the turn did not end")
	}
	return *out
}

func TestRun_ATurnAfterACheapOneIsStoppedAtItsOwnLimit(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{CPU: 30 * time.Millisecond})
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	for k := 0; k < 3; k++ { // warm: the runs below start at once
		if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
			t.Fatal(o.Crash)
		}
	}
	for k := 0; k < 5; k++ {
		// The cheap turn sets the timer for its first check; the next
		// turn, which starts later, finds it set and keeps it: when it
		// fires early for that turn, the watchdog sets it again for the
		// turn's own time.
		if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
			t.Fatal(o.Crash)
		}
		before := i.CPUTime()
		o := receiveNow(t, i, runMsg(t, map[string]any{"type": "forever"}))
		if !errors.Is(o.Crash, ErrCPULimit) {
			t.Fatalf("the runaway turn ended with %v, want ErrCPULimit", o.Crash)
		}
		if c := i.CPUTime() - before; c < 30*time.Millisecond {
			t.Fatalf("the runaway turn was charged %v, less than its limit", c)
		}
	}
}

func TestRun_TurnsAreNotChargedEachOthersTime(t *testing.T) {
	// Four turns of 20 ms of wall time each (so at most 20 ms of CPU)
	// run back to back under a 50 ms limit: none may be stopped.
	i := watchdogIsolate(t, runJS, Limits{CPU: 50 * time.Millisecond})
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	for k := 0; k < 4; k++ {
		before := i.CPUTime()
		o := receiveNow(t, i, runMsg(t, map[string]any{"type": "spin", "ms": 20}))
		if o.Crash != nil {
			t.Fatalf("turn %d of the run: %v", k, o.Crash)
		}
		if c := i.CPUTime() - before; c >= 50*time.Millisecond {
			t.Fatalf("turn %d was charged %v", k, c)
		}
	}
}

// A turn of a mailbox run (pinned) leaves the timer set for the next: the
// timer is set again only after it fired (or for a turn due sooner than
// it), not once per turn, and Close stops it.
func TestRun_TurnsSetTheTimerOnlyAfterItFired(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{})
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	i.mu.Lock()
	sets0, fires0 := i.watchSets, i.watchFires
	i.mu.Unlock()
	const turns = 300
	for k := 0; k < turns; k++ {
		if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
			t.Fatal(o.Crash)
		}
	}
	i.mu.Lock()
	sets, fires, armed := i.watchSets-sets0, i.watchFires-fires0, i.armed
	i.mu.Unlock()
	t.Logf("%d turns set the timer %d times; it fired %d times", turns, sets, fires)
	if armed != 0 {
		t.Fatalf("after the turns the watchdog is armed for turn %d", armed)
	}
	if sets > fires+1 {
		t.Fatalf("%d turns set the timer %d times and it fired %d times: want at most one set more than firings", turns, sets, fires)
	}
	i.Close()
	i.mu.Lock()
	set := i.watchSet
	i.mu.Unlock()
	if set || i.watch.Stop() {
		t.Fatal("the timer is still set after Close")
	}
}

// The timer left set by a turn that has ended fires between turns without
// touching the next turn, which sets it again for its own first check.
func TestRun_AFiringBetweenTurnsDoesNothing(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{CPU: time.Minute})
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
		t.Fatal(o.Crash)
	}
	i.mu.Lock()
	i.watchAt = time.Now() // its time has come
	seq := i.seq
	i.mu.Unlock()
	i.watchdog()
	i.mu.Lock()
	set, after, sets := i.watchSet, i.seq, i.watchSets
	i.mu.Unlock()
	if set || after != seq {
		t.Fatalf("after a firing between turns: timer set %v, turn counter %d (was %d); want unset, unchanged", set, after, seq)
	}
	if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
		t.Fatalf("the next turn ended with %v", o.Crash)
	}
	i.mu.Lock()
	sets = i.watchSets - sets
	i.mu.Unlock()
	if sets != 1 {
		t.Fatalf("the next turn set the timer %d times, want once", sets)
	}
}

// A turn outside a mailbox run (the module body, init: no pin) stops the
// timer as it ends.
func TestRun_AnUnpinnedTurnStopsTheTimer(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{})
	for k := 0; k < 3; k++ {
		if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
			t.Fatal(o.Crash)
		}
		i.mu.Lock()
		set, armed := i.watchSet, i.armed
		i.mu.Unlock()
		if set || armed != 0 {
			t.Fatalf("after turn %d: timer set %v, armed for turn %d; want neither", k, set, armed)
		}
	}
}

func TestRun_AnAbortEndsTheRestOfTheRun(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{CPU: time.Minute})
	if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
		t.Fatal(o.Crash)
	}
	i.Abort(ErrKilled)
	for k := 0; k < 2; k++ {
		if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); !errors.Is(o.Crash, ErrKilled) {
			t.Fatalf("turn %d after the abort ended with %v, want ErrKilled", k, o.Crash)
		}
	}
}

// A firing of the shared timer that comes before the running turn's own
// interval is up (the timer was set by an earlier turn of the run) sets
// the timer again for the rest of that interval. (Timers fire late enough
// that a run rarely takes this path: here the firing is made by hand.)
func TestRun_AnEarlyFiringSetsTheTimerAgain(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{})
	i.mu.Lock()
	i.seq++
	seq := i.seq
	i.mu.Unlock()
	i.disarm(i.armWatchdog(seq, 0)) // an earlier turn of the run: the timer stays set
	i.mu.Lock()
	i.seq++
	seq = i.seq
	i.mu.Unlock()
	nested, clocked := i.armWatchdog(seq, 0)
	defer i.disarm(nested, clocked)
	i.mu.Lock()
	// The turn's interval is an hour; the timer's time has come.
	i.armedDue = time.Now().Add(time.Hour)
	i.watchAt = time.Now()
	i.mu.Unlock()
	i.watchdog()
	i.mu.Lock()
	set, at := i.watchSet, i.watchAt
	i.mu.Unlock()
	if !set || time.Until(at) < 59*time.Minute {
		t.Fatalf("after an early firing the timer is set %v, for %v from now; want about an hour", set, time.Until(at))
	}
}

// A reply is encoded in the turn that made it. What the encoding runs (a
// getter) cannot defer the reply, and a getter that throws fails the
// reply, not the incarnation, as when the reply was encoded after the turn.
func TestRun_TheReplyIsEncodedInItsTurn(t *testing.T) {
	i := watchdogIsolate(t, `
export function receive(m, ctx) {
  if (m.type === "defer") return { get x() { try { ctx.deferReply(); return "deferred"; } catch (e) { return e.message; } } };
  if (m.type === "throw") return { get x() { throw new Error("no"); } };
  if (m.type === "late") { const r = {v: 1}; Promise.resolve().then(() => { r.v = 2; }); return r; }
}`, Limits{})
	o := receiveNow(t, i, runMsg(t, map[string]any{"type": "defer"}))
	if o.Crash != nil || o.Deferred || o.ReplyErr != nil || o.Reply == nil {
		t.Fatalf("a getter that defers: %+v", o)
	}
	var got map[string]any
	if err := msgpack.Unmarshal(o.Reply.Data(), &got); err != nil || got["x"] != ErrNoCallToAnswer.Error() {
		t.Fatalf("the reply is %v (%v), want deferReply refused", got, err)
	}
	if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "throw"})); o.Crash != nil || o.ReplyErr == nil {
		t.Fatalf("a getter that throws: %+v, want a reply error and no crash", o)
	}
	// The promise jobs the handler queued run before the reply is encoded.
	o = receiveNow(t, i, runMsg(t, map[string]any{"type": "late"}))
	if err := msgpack.Unmarshal(o.Reply.Data(), &got); err != nil || got["v"] != int8(2) {
		t.Fatalf("the reply is %v (%v), want v: 2", got, err)
	}
}

// An isolate clocked from its turns' start after a long turn stops after
// clockedShortTurns short turns in a row.
func TestRun_ShortTurnsStopClockingTurnStarts(t *testing.T) {
	i := watchdogIsolate(t, runJS, Limits{})
	i.longTurns.Store(true)
	k := 0
	for ; k < 100*clockedShortTurns && i.longTurns.Load(); k++ {
		if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "inc"})); o.Crash != nil {
			t.Fatal(o.Crash)
		}
	}
	if i.longTurns.Load() {
		t.Fatalf("still clocked from the start after %d short turns", k)
	}
	if k < clockedShortTurns {
		t.Fatalf("clocking stopped after %d short turns, want %d", k, clockedShortTurns)
	}
}

// BenchmarkRun_TurnsPinned is message turns on a pinned thread, each on
// its own, sharing the watchdog's timer (benchTurns,
// batchrun_internal_test.go).
func BenchmarkRun_TurnsPinned(b *testing.B) { benchTurns(b, false) }
