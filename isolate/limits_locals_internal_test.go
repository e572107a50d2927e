package isolate

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/dop251/goja"
	"github.com/vmihailenco/msgpack/v5"
)

// localsJS keeps an array of 2.5e5 doubles (about 6 MB) in each of the
// places a running turn can hold a value, and then either measures the
// heap (__m, a native function that walks it, as a reservation does) or
// asks for a 12 MB string. msg.n is the array's length: 0 for the same
// turn without it.
const localsJS = `
function big(n) { const a = []; for (let k = 0; k < n; k++) a.push(k * 1.5); return a; }
function then(msg) {
  if (msg.op === "measure") return __m();
  const s = "x".repeat(12e6);
  return s === "" ? -1 : 1; // no s.length: goja would keep s for the next string's property
}
function built(n) { let p1 = 1, p2 = 2, p3 = 3, p4 = 4, p5 = 5, p6 = 6; const a = big(n); return a.length + p1 + p2 + p3 + p4 + p5 + p6; }
let resolve;
export function receive(msg, ctx) {
  switch (msg.where) {
  case "let": { let a = big(msg.n); return then(msg) + a.length * 0; }
  case "frame": { return (function (a) { return (() => then(msg))() + a.length * 0; })(big(msg.n)); }
  case "closure": { const a = big(msg.n); const f = () => a.length; return then(msg) + f() * 0; }
  case "temporary": { return [big(msg.n), then(msg)][1]; }
  case "generator": {
    function* g() { const a = big(msg.n); yield 0; yield a.length; }
    const it = g(); it.next();
    return then(msg);
  }
  case "async": {
    (async () => { const a = big(msg.n); await new Promise(r => resolve = r); return a.length; })();
    return then(msg);
  }
  case "returned": { built(msg.n); return msg.op === "measure" ? __m() : "x".repeat(12e6) === "" ? -1 : 1; }
  case "keys": { let a = big(msg.n); return Object.keys(a).length; }
  }
}`

const localsElems = 250000

func localsIsolate(t *testing.T, limit int64) *Isolate {
	t.Helper()
	i := acctIsolate(t, localsJS, Limits{Memory: limit, CPU: time.Minute})
	if err := i.rt.Set("__m", func(goja.FunctionCall) goja.Value {
		b, _ := i.measureHeap(i.lim.shared)
		return i.rt.ToValue(b)
	}); err != nil {
		t.Fatal(err)
	}
	return i
}

func localsTurn(t *testing.T, i *Isolate, where, op string, n int) (Outcome, int64) {
	t.Helper()
	o := receiveNow(t, i, runMsg(t, map[string]any{"where": where, "op": op, "n": n}))
	var v int64
	if o.Crash == nil && o.ReplyErr == nil {
		if err := msgpack.Unmarshal(o.Reply.Data(), &v); err != nil {
			t.Fatal(err)
		}
	}
	return o, v
}

// A measurement inside a turn, as a reservation takes one, sees what the
// turn's running frames hold: locals, arguments, captured bindings,
// temporaries, a generator suspended in the turn, an async function
// awaiting a promise whose resolve function is kept.
func TestLocals_MidTurnMeasurementSeesRunningFrames(t *testing.T) {
	i := localsIsolate(t, 1<<30)
	for _, where := range []string{"let", "frame", "closure", "temporary", "generator", "async"} {
		_, without := localsTurn(t, i, where, "measure", 0)
		_, with := localsTurn(t, i, where, "measure", localsElems)
		// goja keeps a double in 24 bytes (interface and box): 6 MB.
		if seen := with - without; seen < localsElems*20 {
			t.Errorf("%s: a measurement saw %d bytes of a %d-element array held by the turn (%d without it, %d with)", where, seen, localsElems, without, with)
		}
	}
}

// The frames of functions that have returned are not charged: goja leaves
// their values in the stack's slots above the stack pointer until they
// are overwritten, and the walk used to count them. With the reservation
// counting the turn's allocations, the 6 MB a helper built and dropped
// would then have refused the 12 MB under 16 MiB.
func TestLocals_ReturnedFramesAreNotCharged(t *testing.T) {
	i := localsIsolate(t, 1<<30)
	_, without := localsTurn(t, i, "returned", "measure", 0)
	_, with := localsTurn(t, i, "returned", "measure", localsElems)
	if with-without > 1<<20 {
		t.Errorf("a measurement after the function returned charged %d bytes of its %d-element array (%d without it)", with-without, localsElems, without)
	}
	i = localsIsolate(t, 16<<20)
	walks := i.lim.walks
	if o, _ := localsTurn(t, i, "returned", "alloc", localsElems); o.Crash != nil || o.ReplyErr != nil {
		t.Errorf("12 MB after a helper dropped 6 MB, under 16 MiB: crash %v, reply error %v", o.Crash, o.ReplyErr)
	}
	if i.lim.walks == walks {
		t.Errorf("the reservation did not measure")
	}
}

// A reservation that the turn's own allocations take over the limit ends
// the turn with memory_limit, from a measurement: the turn keeps 6 MB in
// a local and asks for 12 MB under 16 MiB. The reservation used to look at
// the estimate alone, which holds a turn's allocations only from its end;
// the 6 MB array went unnoticed and both were built. Without the array,
// the same request fits.
func TestLocals_ReservationCountsTheTurnsAllocations(t *testing.T) {
	const limit = 16 << 20
	for _, where := range []string{"let", "frame", "closure", "temporary", "generator", "async", "keys"} {
		t.Run(where, func(t *testing.T) {
			i := localsIsolate(t, limit)
			n := localsElems / 2 // keys: 3 MB of array, 6 MB of keys fit
			if where != "keys" {
				if o, _ := localsTurn(t, i, where, "alloc", 0); o.Crash != nil || o.ReplyErr != nil {
					t.Fatalf("without the array: crash %v, reply error %v", o.Crash, o.ReplyErr)
				}
			} else if o, _ := localsTurn(t, i, where, "alloc", n); o.Crash != nil || o.ReplyErr != nil {
				t.Fatalf("Object.keys of %d elements: crash %v, reply error %v", n, o.Crash, o.ReplyErr)
			}
			// A fresh measurement: the turn before is no longer in the
			// estimate, so the in-turn probe has the whole limit as its
			// budget and leaves the turn to the reservation.
			i.MemoryUsage()
			walks := i.lim.walks
			o, _ := localsTurn(t, i, where, "alloc", localsElems)
			if !errors.Is(o.Crash, ErrMemoryLimit) {
				t.Fatalf("with the array: crash %v, reply error %v; want %v", o.Crash, o.ReplyErr, ErrMemoryLimit)
			}
			// The probe does not walk, and a failed turn's end does not
			// either: the walk is the reservation's.
			if i.lim.walks == walks {
				t.Errorf("memory_limit came without a measurement (the in-turn probe's, not the reservation's): %#v", o.Crash)
			}
		})
	}
}

// A promise reachable only from the resolve function its executor was
// given is measured, with what waits on it: each turn starts an async
// function that keeps 8 MiB and awaits a promise whose resolve function
// is kept. Before, 12 turns kept 96 MiB under a 32 MiB limit and were
// charged 46 KB.
func TestLocals_PromiseHeldByItsResolverIsCharged(t *testing.T) {
	for name, src := range map[string]string{
		"await": `const keep = [];
async function h() { const a = "x".repeat(8 << 20); await new Promise(r => keep.push(r)); return a.length; }
export function receive(msg) { h(); return keep.length; }`,
		"then": `const keep = [];
export function receive(msg) { const a = "y".repeat(8 << 20); new Promise((_, r) => keep.push(r)).then(null, () => a.length); return keep.length; }`,
	} {
		t.Run(name, func(t *testing.T) {
			i := acctIsolate(t, src, Limits{Memory: 32 << 20, CPU: time.Minute})
			for k := 1; k <= 12; k++ {
				o := receiveNow(t, i, runMsg(t, map[string]any{}))
				if o.Crash != nil {
					if !errors.Is(o.Crash, ErrMemoryLimit) || k != 4 {
						t.Fatalf("turn %d: crash %v, want %v in turn 4 (3 × 8 MiB fit)", k, o.Crash, ErrMemoryLimit)
					}
					return
				}
			}
			t.Fatalf("12 turns kept 96 MiB under a 32 MiB limit; the isolate measures %d bytes", i.MemoryUsage())
		})
	}
}

// The walk reads goja's private layout: these fail loudly when an upgrade
// moves it (the walk then falls back to charging dead stack slots, and to
// not entering resolve functions).
func TestWalk_GojaStackLayout(t *testing.T) {
	if _, err := gojaStack(); err != nil {
		t.Fatalf("goja's VM stack is not where the memory walk looks for it: %v", err)
	}
}

func TestWalk_ResolverLayout(t *testing.T) {
	l, err := gojaResolvers()
	if err != nil {
		t.Fatalf("goja's resolve and reject functions are not what the memory walk knows: %v", err)
	}
	if len(l) != 2 {
		t.Fatalf("learnt %d resolving closures, want 2", len(l))
	}
}

// BenchmarkWalk_CounterActor measures a walk of a counter actor's heap
// after a few turns, as a measurement between turns takes it.
func BenchmarkWalk_CounterActor(b *testing.B) {
	s, err := Compile("t.js", []byte(`let n = 0; export function receive(msg) { return ++n; }`))
	if err != nil {
		b.Fatal(err)
	}
	i, err := New(s, Config{Name: "t", Self: capability.New(acctTarget{}, capability.All), Host: acctHost{}})
	if err != nil {
		b.Fatal(err)
	}
	defer i.Close()
	for range 10 {
		var out *Outcome
		i.Receive(mailbox.NewEnvelope([]byte{0x80}, nil), true, func(o Outcome) { out = &o })
		if out == nil || out.Crash != nil {
			b.Fatalf("turn: %+v", out)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		i.MemoryUsage()
	}
}
