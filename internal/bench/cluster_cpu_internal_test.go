//go:build unix

package bench

import (
	"flag"
	"os"
	"runtime"
	"runtime/trace"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
)

var clusterTrace = flag.String("clustertrace", "", "BenchmarkClusterCPU: write an execution trace of one more throughput phase to this file (.across, .within)")

// BenchmarkClusterCPU measures what one one-way JS→JS message costs the
// process across two nodes (both nodes and the NATS server run here) and
// within one node, once each set of nodes is warm: CPU time (user and
// system), heap allocations and page faults per message over the throughput phase
// only, without the start-up of nodes and server. b.N is the messages
// per pair of each of 5 phases; the figures are the medians. With -v it
// also samples, every 100 µs, whether each sink's mailbox is empty (a
// sink with nothing to do while messages are on their way) and logs the
// transports' counters; the sampling costs CPU of its own.
//
//	go test -run XXX -bench ClusterCPU -benchtime 20000x ./internal/bench
func BenchmarkClusterCPU(b *testing.B) {
	const pairs, phases = 2, 5
	faults := func() int64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return ru.Minflt + ru.Majflt
	}
	measure := func(b *testing.B, t *placedTree) (cpuUS, allocs, rate, pf float64) {
		msgs := max(b.N, 1000)
		// warm up: the first phase brings the heap and the paths in
		if _, err := t.throughput(pairs, msgs); err != nil {
			b.Fatal(err)
		}
		var cpus, as, rates, pfs []float64
		for range phases {
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			c0, _ := processCPU()
			f0 := faults()
			stop := make(chan struct{})
			var samples, empty [2]int
			if testing.Verbose() {
				s0, _ := t.b.Lookup("sink0")
				s1, _ := t.b.Lookup("sink1")
				go func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						for i, s := range []*actor.Process{s0, s1} {
							samples[i]++
							if s.MailboxDepth() == 0 {
								empty[i]++
							}
						}
						time.Sleep(100 * time.Microsecond)
					}
				}()
			}
			v, err := t.throughput(pairs, msgs)
			close(stop)
			if testing.Verbose() {
				b.Logf("empty mailbox samples: sink0 %d/%d sink1 %d/%d", empty[0], samples[0], empty[1], samples[1])
			}
			if err != nil {
				b.Fatal(err)
			}
			c1, _ := processCPU()
			f1 := faults()
			runtime.ReadMemStats(&m1)
			n := float64(pairs * msgs)
			cpus = append(cpus, float64((c1-c0)/time.Nanosecond)/1e3/n)
			as = append(as, float64(m1.Mallocs-m0.Mallocs)/n)
			rates = append(rates, v)
			pfs = append(pfs, float64(f1-f0)/n)
		}
		if *clusterTrace != "" {
			f, err := os.Create(*clusterTrace + "." + b.Name()[len("BenchmarkClusterCPU/"):])
			if err != nil {
				b.Fatal(err)
			}
			if err := trace.Start(f); err != nil {
				b.Fatal(err)
			}
			_, err = t.throughput(pairs, msgs)
			trace.Stop()
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		return medianOf(cpus), medianOf(as), medianOf(rates), medianOf(pfs)
	}
	b.Run("across", func(b *testing.B) {
		p, err := startPair(ClusterOptions{Pairs: pairs, Messages: 1}, false)
		if err != nil {
			b.Fatal(err)
		}
		defer p.close()
		cpu, allocs, rate, pf := measure(b, &p.placedTree)
		st := p.ta.Stats()
		if testing.Verbose() {
			b.Logf("a: %+v", st)
			b.Logf("b: %+v", p.tb.Stats())
		}
		b.ReportMetric(cpu, "cpu-µs/msg")
		b.ReportMetric(allocs, "allocs/msg")
		b.ReportMetric(rate, "msgs/s")
		b.ReportMetric(pf, "faults/msg")
		b.ReportMetric(float64(st.FramesOut)/float64(max(st.BatchesOut, 1)), "frames/batch")
		b.ReportMetric(float64(st.AcksOut+p.tb.Stats().AcksOut), "acks")
	})
	b.Run("within", func(b *testing.B) {
		n, _, err := tree(benchSpecs(pairs, 1, false).Children)
		if err != nil {
			b.Fatal(err)
		}
		defer n.stop()
		cn := &cnode{node: n}
		cpu, allocs, rate, pf := measure(b, &placedTree{a: cn, b: cn, nodes: []*cnode{cn}})
		b.ReportMetric(cpu, "cpu-µs/msg")
		b.ReportMetric(allocs, "allocs/msg")
		b.ReportMetric(rate, "msgs/s")
		b.ReportMetric(pf, "faults/msg")
	})
}
