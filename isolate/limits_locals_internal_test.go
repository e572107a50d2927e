package isolate

import (
	"errors"
	"testing"
	"time"
)

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

// The walk reads goja's private layout: this fails loudly when an upgrade
// moves it (the walk then does not enter resolve functions).
func TestWalk_ResolverLayout(t *testing.T) {
	l, err := gojaResolvers()
	if err != nil {
		t.Fatalf("goja's resolve and reject functions are not what the memory walk knows: %v", err)
	}
	if len(l) != 2 {
		t.Fatalf("learnt %d resolving closures, want 2", len(l))
	}
}
