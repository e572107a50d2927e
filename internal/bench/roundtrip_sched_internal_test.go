package bench

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkRoundtripJSSched runs RoundtripJS and reports, per call, the
// process's CPU time and its scheduler events: goroutine wake-ups (two are
// inherent: the callee's mailbox for the request, the caller's for the
// reply), goroutines created and OS thread context switches.
//
//	go test -run X -bench RoundtripJSSched -benchtime 100000x ./internal/bench/
func BenchmarkRoundtripJSSched(b *testing.B) {
	b.ReportAllocs()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before, c0 := readSched(), cpu()
	v, err := RoundtripJS(b.N)
	after, c1 := readSched(), cpu()
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(v, "µs/call")
	b.ReportMetric(float64(c1-c0)/1e3/n, "cpu-µs/call")
	b.ReportMetric((after.wakeups-before.wakeups)/n, "wakeups/call")
	b.ReportMetric((after.created-before.created)/n, "goroutines/call")
	b.ReportMetric(float64(after.csw-before.csw)/n, "csw/call")
}
