package bench

import (
	"flag"
	"os"
	"runtime/pprof"
	"testing"
)

var liveHeap = flag.String("liveheap", "", "write a heap profile taken while BenchmarkIdleJSLive's actors are alive to this file")

// BenchmarkIdleJSLive is BenchmarkIdleJS with a heap profile of the live
// actors: go test -bench IdleJSLive -benchtime 10000x -liveheap idle.pprof
func BenchmarkIdleJSLive(b *testing.B) {
	v, err := idleJS(max(b.N, 1000), func() {
		if *liveHeap == "" {
			return
		}
		f, err := os.Create(*liveHeap)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(v, "B/actor")
}
