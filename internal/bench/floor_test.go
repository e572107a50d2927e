package bench_test

import (
	"testing"

	"github.com/cloister-rt/cloister/internal/bench"
)

// BenchmarkIdleGoja is the engine's floor beside BenchmarkIdleJS: a bare
// goja runtime, and one that has run the counter module, its init and one
// message (docs/benchmarks.md).
func BenchmarkIdleGoja(b *testing.B) {
	for _, c := range []struct {
		name   string
		module bool
	}{{"bare", false}, {"module", true}} {
		b.Run(c.name, func(b *testing.B) {
			v, err := bench.IdleGoja(max(b.N, 1000), c.module)
			report(b, v, err, "B/actor")
		})
	}
}

// TestIdleGoja_ModuleCostsMore: the floor measurement runs the module: a
// runtime that has run it retains more than a bare one.
func TestIdleGoja_ModuleCostsMore(t *testing.T) {
	bare, err := bench.IdleGoja(2000, false)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := bench.IdleGoja(2000, true)
	if err != nil {
		t.Fatal(err)
	}
	if !(bare > 0) || !(mod > bare) {
		t.Errorf("bare runtime %.0f B, with the module %.0f B: want 0 < bare < module", bare, mod)
	}
}
