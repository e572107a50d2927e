package isolate

import (
	"errors"
	"testing"
	"time"
)

// closureHeldJS are scripts that keep, each turn, a value of msg.n
// characters where goja holds it only inside a Go closure it made: a
// promise combinator's reaction, a finally handler, a capability
// executor, a bound function, a revocable proxy's revoke, a callable
// proxy handed to then. The walk cannot
// enter a Go closure by reflection; before the closures were read, each
// kept 8 MiB a turn under a 32 MiB limit and was charged almost nothing.
var closureHeldJS = map[string]string{
	"finally": `const pending = new Promise(() => {});
export function receive(msg) { const big = "f".repeat(msg.n) + msg.k; pending.finally(() => big.length); return msg.k; }`,
	"finally-value": `const gate = new Promise(() => {});
export function receive(msg) { Promise.resolve("v".repeat(msg.n) + msg.k).finally(() => gate); return msg.k; }`,
	"finally-reason": `const gate = new Promise(() => {});
export function receive(msg) { Promise.reject("r".repeat(msg.n) + msg.k).finally(() => gate).catch(() => 0); return msg.k; }`,
	"all": `const pending = new Promise(() => {});
export function receive(msg) { Promise.all([pending, Promise.resolve("a".repeat(msg.n) + msg.k)]); return msg.k; }`,
	"allSettled": `const pending = new Promise(() => {});
export function receive(msg) { Promise.allSettled([pending, Promise.resolve("s".repeat(msg.n) + msg.k)]); return msg.k; }`,
	"allSettled-rejected": `const pending = new Promise(() => {});
export function receive(msg) { Promise.allSettled([pending, Promise.reject("z".repeat(msg.n) + msg.k)]); return msg.k; }`,
	"any": `const pending = new Promise(() => {});
export function receive(msg) { Promise.any([pending, Promise.reject("y".repeat(msg.n) + msg.k)]); return msg.k; }`,
	"executor": `const keep = [];
class P { constructor(ex) { const big = "e".repeat(this.n) + keep.length; ex(() => big.length, () => 0); keep.push(ex); } }
export function receive(msg) { P.prototype.n = msg.n; Promise.resolve.call(P, 1); return keep.length; }`,
	"bind-args": `const keep = [];
export function receive(msg) { keep.push(function (a) { return a; }.bind(null, "b".repeat(msg.n) + msg.k)); return keep.length; }`,
	"bind-this": `const keep = [];
export function receive(msg) { keep.push((() => 0).bind("t".repeat(msg.n) + msg.k)); return keep.length; }`,
	"then-proxy": `const pending = new Promise(() => {});
export function receive(msg) { const big = "q".repeat(msg.n) + msg.k; pending.then(new Proxy(() => big.length, {})); return msg.k; }`,
	"revoke": `const keep = [];
export function receive(msg) { keep.push(Proxy.revocable({ big: "p".repeat(msg.n) + msg.k }, {}).revoke); return keep.length; }`,
}

// Each script keeps 8 MiB a turn under a 32 MiB limit, and makes 8 MiB
// more it drops (the string before its suffix): it must end with
// memory_limit by the fifth turn, and not before the third (two turns
// kept fit). With 1 KiB a turn the same script runs 12 turns.
func TestPromiseWalk_ClosureHeldValuesAreCharged(t *testing.T) {
	for name, src := range closureHeldJS {
		t.Run(name, func(t *testing.T) {
			i := acctIsolate(t, src, Limits{Memory: 32 << 20, CPU: time.Minute})
			for k := 1; k <= 12; k++ {
				o := receiveNow(t, i, runMsg(t, map[string]any{"n": 8 << 20, "k": k}))
				if o.ReplyErr != nil {
					t.Fatalf("turn %d: reply error %v", k, o.ReplyErr)
				}
				if o.Crash != nil {
					if !errors.Is(o.Crash, ErrMemoryLimit) || k < 3 || k > 5 {
						t.Fatalf("turn %d: crash %v, want %v in turns 3 to 5", k, o.Crash, ErrMemoryLimit)
					}
					return
				}
			}
			t.Fatalf("12 turns kept 96 MiB under a 32 MiB limit; the isolate measures %d bytes", i.MemoryUsage())
		})
	}
}

func TestPromiseWalk_SmallValuesAreNotStopped(t *testing.T) {
	for name, src := range closureHeldJS {
		t.Run(name, func(t *testing.T) {
			i := acctIsolate(t, src, Limits{Memory: 32 << 20, CPU: time.Minute})
			for k := 1; k <= 12; k++ {
				o := receiveNow(t, i, runMsg(t, map[string]any{"n": 1 << 10, "k": k}))
				if o.Crash != nil || o.ReplyErr != nil {
					t.Fatalf("turn %d of 1 KiB: crash %v, reply error %v", k, o.Crash, o.ReplyErr)
				}
			}
		})
	}
}

// The walk reads goja's closures at offsets learnt from samples: each
// layout fails here, by name, when a goja upgrade moves it (the walk
// then leaves what that closure keeps unmeasured, as before).
func TestWalk_CaptureLayouts(t *testing.T) {
	want := []string{"finally then", "finally catch", "finally value", "finally reason", "all",
		"allSettled fulfilled", "allSettled rejected", "any", "capability executor", "bound call",
		"bound construct", "proxy revoke", "proxy call", "reaction job (then, fulfilled)",
		"reaction job (then, rejected)", "reaction job (fulfil)", "reaction job (reject)", "thenable job"}
	got := map[string]captureLayout{}
	for _, l := range gojaCaptures() {
		got[l.name] = l
	}
	for _, name := range want {
		l, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no layout learnt", name)
		case l.err != nil:
			t.Errorf("goja's closure is not what the memory walk knows: %v", l.err)
		case len(l.caps) == 0 || l.code == 0:
			t.Errorf("%s: learnt no captures", name)
		default:
			if _, ok := gojaClosures()[l.code]; !ok {
				t.Errorf("%s: not in the walk's table", name)
			}
		}
	}
}

// A measurement inside a turn sees the values goja's job queue holds: the
// turn queues three reactions to promises it drops, each with msg.n
// characters, and then asks for 12 MB. Under 32 MiB, three values of
// 8 MiB and the 12 MB do not fit; three of 1 KiB do.
func TestPromiseWalk_QueuedJobsAreSeenMidTurn(t *testing.T) {
	const src = `export function receive(msg) {
  for (let k = 0; k < 3; k++) Promise.resolve("j".repeat(msg.n) + k).then(() => 0);
  return "x".repeat(12e6) === "" ? -1 : 1;
}`
	i := acctIsolate(t, src, Limits{Memory: 32 << 20, CPU: time.Minute})
	if o := receiveNow(t, i, runMsg(t, map[string]any{"n": 1 << 10})); o.Crash != nil || o.ReplyErr != nil {
		t.Fatalf("three jobs of 1 KiB and 12 MB: crash %v, reply error %v", o.Crash, o.ReplyErr)
	}
	i.MemoryUsage()
	walks := i.lim.walks
	o := receiveNow(t, i, runMsg(t, map[string]any{"n": 8 << 20}))
	if !errors.Is(o.Crash, ErrMemoryLimit) {
		t.Fatalf("three jobs of 8 MiB and 12 MB under 32 MiB: crash %v, reply error %v; want %v", o.Crash, o.ReplyErr, ErrMemoryLimit)
	}
	if i.lim.walks == walks {
		t.Errorf("memory_limit came without a measurement")
	}
}
