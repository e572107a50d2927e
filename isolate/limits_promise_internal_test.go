package isolate

import (
	"errors"
	"testing"
	"time"
)

// closureHeldJS are scripts that keep, each turn, a value of msg.n
// characters where goja holds it only inside a Go closure it made: a
// promise combinator's reaction, a finally handler, a capability
// executor, a bound function, a revocable proxy's revoke. The walk cannot
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
	"any": `const pending = new Promise(() => {});
export function receive(msg) { Promise.any([pending, Promise.reject("y".repeat(msg.n) + msg.k)]); return msg.k; }`,
	"executor": `const keep = [];
class P { constructor(ex) { const big = "e".repeat(this.n) + keep.length; ex(() => big.length, () => 0); keep.push(ex); } }
export function receive(msg) { P.prototype.n = msg.n; Promise.resolve.call(P, 1); return keep.length; }`,
	"bind-args": `const keep = [];
export function receive(msg) { keep.push(function (a) { return a; }.bind(null, "b".repeat(msg.n) + msg.k)); return keep.length; }`,
	"bind-this": `const keep = [];
export function receive(msg) { keep.push((() => 0).bind("t".repeat(msg.n) + msg.k)); return keep.length; }`,
	"revoke": `const keep = [];
export function receive(msg) { keep.push(Proxy.revocable({ big: "p".repeat(msg.n) + msg.k }, {}).revoke); return keep.length; }`,
}

// Each script keeps 8 MiB a turn under a 32 MiB limit: it must end with
// memory_limit by the fifth turn (three turns fit; the fourth or the
// fifth, by where the estimate falls, does not). With 1 KiB a turn the
// same script runs 12 turns.
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
					if !errors.Is(o.Crash, ErrMemoryLimit) || k < 4 || k > 5 {
						t.Fatalf("turn %d: crash %v, want %v in turn 4 or 5", k, o.Crash, ErrMemoryLimit)
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
