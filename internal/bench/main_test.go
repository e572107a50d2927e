package bench_test

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/pretouch"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// TestMain runs the benchmarks at the GC target `cloister run` and
// `cloister bench` set (GOGC, if set, wins). CLOISTER_BENCH_PRETOUCH, a
// number of bytes, pre-touches that much heap first, as `--pretouch-heap`
// does (set GODEBUG=madvdontneed=0 too, or the scavenger returns it).
func TestMain(m *testing.M) {
	if pct := actor.GCPercentFor(actor.DefaultGCPercent); pct > 0 {
		debug.SetGCPercent(pct)
	}
	if s := os.Getenv("CLOISTER_BENCH_PRETOUCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			var r pretouch.Result
			r, err = pretouch.Heap(n)
			fmt.Fprintf(os.Stderr, "pre-touched %d bytes: %d faults, %v CPU, lazy free %v\n", r.Bytes, r.Faults, r.CPU, r.LazyFree)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "CLOISTER_BENCH_PRETOUCH=%q: %v\n", s, err)
			os.Exit(2)
		}
	}
	testkit.Main(m)
}
