package bench_test

import (
	"runtime/debug"
	"testing"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// TestMain runs the benchmarks at the GC target `cloister run` and
// `cloister bench` set (GOGC, if set, wins).
func TestMain(m *testing.M) {
	if pct := actor.GCPercentFor(actor.DefaultGCPercent); pct > 0 {
		debug.SetGCPercent(pct)
	}
	testkit.Main(m)
}
