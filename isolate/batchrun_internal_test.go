package isolate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
)

// benchTurns runs b.N message turns on a pinned thread, in runs of
// maxRun if inRuns, and reports the thread's CPU time per turn besides
// the wall time: on a shared machine the wall time is mostly others'.
func benchTurns(b *testing.B, inRuns bool) {
	i := benchIsolate(b)
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	env := mailbox.NewEnvelope([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'i', 'n', 'c'}, nil) // {type: "inc"}
	done := func(Outcome) {}
	clock, clocked := startThreadClock()
	defer clock.stop()
	b.ReportAllocs()
	b.ResetTimer()
	start, _ := clock.read()
	for k := 0; k < b.N; k++ {
		if inRuns && !i.InRun() {
			i.BeginRun()
		}
		i.Receive(env, false, done)
		if i.RunFull() {
			i.EndRun()
		}
	}
	i.EndRun()
	if end, ok := clock.read(); ok && clocked {
		b.ReportMetric(float64(end-start)/float64(b.N), "thread-ns/op")
	}
}

// BenchmarkBatch_TurnsInARun is BenchmarkRun_TurnsPinned's turns (a
// message turn at a time, as a worker runs a message that arrives alone)
// in runs (BeginRun, EndRun), as a worker hands its isolate a run of
// queued messages.
func BenchmarkBatch_TurnsInARun(b *testing.B) { benchTurns(b, true) }

// The turns of a run (BeginRun, EndRun) are each a turn of their own:
// these tests run turns inside runs and check what each turn alone gets.

const batchRunJS = `
const log = [];
let keep = [];
export function receive(m, ctx) {
  switch (m.type) {
  case "mark":
    log.push("m" + m.k);
    Promise.resolve().then(() => log.push("j" + m.k));
    return m.k;
  case "boom": log.push("m" + m.k); throw new Error("boom " + m.k);
  case "spin": { const end = Date.now() + m.ms; while (Date.now() < end) {} return m.k; }
  case "forever": while (true) {}
  case "wait": log.push("m" + m.k); return new Promise(() => {});
  case "grow": for (let n = 0; n < 16; n++) keep.push(new Array(4096).fill(n)); return keep.length;
  case "log": return log;
  }
}`

func batchNum(t *testing.T, o Outcome) int64 {
	t.Helper()
	if o.Crash != nil || o.ReplyErr != nil || o.Reply == nil {
		t.Fatalf("outcome %+v, want a reply", o)
	}
	var v int64
	if err := msgpack.Unmarshal(o.Reply.Data(), &v); err != nil {
		t.Fatalf("reply: %v", err)
	}
	return v
}

func batchLog(t *testing.T, i *Isolate) []string {
	t.Helper()
	o := receiveNow(t, i, runMsg(t, map[string]any{"type": "log"}))
	var got []string
	if o.Reply == nil {
		t.Fatalf("log: %+v", o)
	}
	if err := msgpack.Unmarshal(o.Reply.Data(), &got); err != nil {
		t.Fatalf("log: %v", err)
	}
	return got
}

func pinnedRun(t *testing.T, lim Limits) *Isolate {
	t.Helper()
	i := watchdogIsolate(t, batchRunJS, lim)
	pin := PinThread()
	t.Cleanup(pin.Unpin)
	i.UsePin(pin)
	return i
}

func TestBatch_EachTurnOfARunGetsItsReplyAndItsJobsRunBeforeTheNext(t *testing.T) {
	i := pinnedRun(t, Limits{})
	i.BeginRun()
	if !i.InRun() {
		t.Fatal("BeginRun opened no run")
	}
	for k := int64(1); k <= 5; k++ {
		if got := batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": k}))); got != k {
			t.Fatalf("turn %d replied %d", k, got)
		}
	}
	got := batchLog(t, i)
	i.EndRun()
	want := []string{"m1", "j1", "m2", "j2", "m3", "j3", "m4", "j4", "m5", "j5"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("log %q, want %q: each turn's promise jobs run as it ends", got, want)
	}
	if i.InRun() {
		t.Fatal("the run is still open after EndRun")
	}
}

func TestBatch_AThrowInARunCrashesThatTurnAlone(t *testing.T) {
	i := pinnedRun(t, Limits{})
	i.BeginRun()
	defer i.EndRun()
	for k := int64(1); k <= 2; k++ {
		batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": k})))
	}
	o := receiveNow(t, i, runMsg(t, map[string]any{"type": "boom", "k": 3}))
	var je *JSError
	if !errors.As(o.Crash, &je) || !strings.Contains(o.Crash.Error(), "boom 3") {
		t.Fatalf("the third turn ended with %v, want its own throw", o.Crash)
	}
}

func TestBatch_ARunawayTurnOfARunIsStoppedAtItsOwnLimit(t *testing.T) {
	// Three turns of 20 ms of wall time (at most 20 ms of CPU each, 60 ms
	// together) under a 50 ms limit, then one that never ends: the three
	// run to their end, each charged its own time, and the fourth is
	// stopped at its own limit.
	const limit = 50 * time.Millisecond
	i := pinnedRun(t, Limits{CPU: limit})
	i.BeginRun()
	defer i.EndRun()
	for k := int64(1); k <= 3; k++ {
		before := i.CPUTime()
		if got := batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "spin", "k": k, "ms": 20}))); got != k {
			t.Fatalf("turn %d replied %d", k, got)
		}
		if c := i.CPUTime() - before; c >= limit {
			t.Fatalf("turn %d was charged %v, its limit or more", k, c)
		}
	}
	before := i.CPUTime()
	o := receiveNow(t, i, runMsg(t, map[string]any{"type": "forever"}))
	if !errors.Is(o.Crash, ErrCPULimit) {
		t.Fatalf("the runaway turn ended with %v, want ErrCPULimit", o.Crash)
	}
	if c := i.CPUTime() - before; c < limit {
		t.Fatalf("the runaway turn was charged %v, less than its limit", c)
	}
}

func TestBatch_APendingPromiseEndsTheRunsTurnsAndNoRunOpensMeanwhile(t *testing.T) {
	i := pinnedRun(t, Limits{})
	i.BeginRun()
	batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": 1})))
	ended := false
	i.Receive(runMsg(t, map[string]any{"type": "wait", "k": 2}), true, func(Outcome) { ended = true })
	if ended || !i.Busy() {
		t.Fatalf("the awaiting turn ended %v, busy %v: want it pending", ended, i.Busy())
	}
	i.EndRun()
	i.BeginRun()
	if i.InRun() {
		t.Fatal("a run opened while a turn awaits its promise")
	}
}

func TestBatch_AnInterruptForATurnOfARunDoesNotReachTheNext(t *testing.T) {
	i := pinnedRun(t, Limits{CPU: time.Minute})
	i.BeginRun()
	defer i.EndRun()
	var seqs []uint64
	for k := int64(1); k <= 3; k++ {
		i.mu.Lock()
		before := i.seq
		i.mu.Unlock()
		batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": k})))
		i.mu.Lock()
		after, armed := i.seq, i.armed
		i.mu.Unlock()
		if armed != 0 || after <= before {
			t.Fatalf("after turn %d: armed %d, seq %d -> %d", k, armed, before, after)
		}
		seqs = append(seqs, after)
	}
	for n, s := range seqs[:2] {
		if s == seqs[n+1] {
			t.Fatalf("two turns of the run ended with the same counter %d", s)
		}
	}
	// The watchdog's check of turn 3, late, and the memory probe's.
	i.interruptTurn(seqs[2] - 2)
	if i.lim.probe(seqs[2] - 2) {
		t.Fatal("the probe of an ended turn acted")
	}
	if got := batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": 4}))); got != 4 {
		t.Fatalf("the next turn replied %d", got)
	}
}

func TestBatch_AnAbortBetweenTurnsOfARunEndsTheNext(t *testing.T) {
	i := pinnedRun(t, Limits{CPU: time.Minute})
	i.BeginRun()
	defer i.EndRun()
	batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": 1})))
	if i.Abort(ErrKilled) {
		t.Fatal("Abort found a turn running between turns")
	}
	if o := receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": 2})); !errors.Is(o.Crash, ErrKilled) {
		t.Fatalf("the turn after the abort ended with %v, want ErrKilled", o.Crash)
	}
}

func TestBatch_EachTurnOfARunHasItsMemoryChecked(t *testing.T) {
	// Each "grow" keeps more: every turn of the run that ends without
	// a crash holds at most the limit (a walk of the heap after it says
	// so), and the first turn that would hold more ends with
	// memory_limit itself.
	const limit = 8 << 20
	i := pinnedRun(t, Limits{Memory: limit, CPU: 10 * time.Second})
	i.BeginRun()
	defer i.EndRun()
	for k := 1; k <= 100; k++ {
		o := receiveNow(t, i, runMsg(t, map[string]any{"type": "grow"}))
		if o.Crash != nil {
			if !errors.Is(o.Crash, ErrMemoryLimit) {
				t.Fatalf("turn %d ended with %v, want ErrMemoryLimit", k, o.Crash)
			}
			if k < 2 {
				t.Fatalf("the first turn ended with memory_limit: the test's steps are too big")
			}
			t.Logf("turn %d of the run ended with memory_limit", k)
			return
		}
		if m := i.MemoryUsage(); m > limit {
			t.Fatalf("turn %d of the run ended holding %d bytes, over the %d limit, without a crash", k, m, limit)
		}
	}
	t.Fatal("100 turns that each keep more never reached the limit")
}

// Outside a mailbox run (no pin) the timer that the turns of a run share
// is stopped when the run ends, not after every turn.
func TestBatch_AnUnpinnedRunStopsTheTimerAsItEnds(t *testing.T) {
	i := watchdogIsolate(t, batchRunJS, Limits{})
	i.BeginRun()
	for k := int64(1); k <= 3; k++ {
		batchNum(t, receiveNow(t, i, runMsg(t, map[string]any{"type": "mark", "k": k})))
		i.mu.Lock()
		set := i.watchSet
		i.mu.Unlock()
		if !set {
			t.Fatalf("after turn %d of the run the timer is stopped", k)
		}
	}
	i.EndRun()
	i.mu.Lock()
	set, armed := i.watchSet, i.armed
	i.mu.Unlock()
	if set || armed != 0 {
		t.Fatalf("after the run: timer set %v, armed %d; want neither", set, armed)
	}
}

func TestBatch_ARunEndsAfterMaxRunTurns(t *testing.T) {
	i := pinnedRun(t, Limits{})
	i.BeginRun()
	defer i.EndRun()
	for k := 1; k <= maxRun; k++ {
		if i.RunFull() {
			t.Fatalf("the run is full after %d turns, want %d", k-1, maxRun)
		}
		receiveNow(t, i, runMsg(t, map[string]any{"type": "spin", "k": k, "ms": 0}))
	}
	if !i.RunFull() {
		t.Fatalf("the run is not full after %d turns", maxRun)
	}
}
