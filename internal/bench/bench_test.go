package bench_test

import (
	"context"
	"math"
	"testing"

	"github.com/cloister-rt/cloister/internal/bench"
)

// tiny runs every measurement once at sizes that finish in about a second,
// so that CI catches a harness that no longer runs; the figures mean little.
// 2,000 idle actors, not fewer: 200 protoactor actors hold about 160 KB,
// which a CI race run saw the heap's other movements cancel out (the
// baseline came out 0).
var tiny = bench.Options{Runs: 1, SpawnActors: 20, IdleActors: 2000, IdleRuns: 1,
	Messages: 2000, Pairs: 1, Calls: 100, Restarts: 10, NoCaps: true}

func TestRun_Tiny(t *testing.T) {
	r, err := bench.Run(context.Background(), tiny)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{
		"spawn_us": r.SpawnUS, "baseline_spawn_us": r.BaselineSpawnUS,
		"idle_actor_bytes": r.IdleActorBytes, "baseline_idle_actor_bytes": r.BaselineIdleActorBytes,
		"msgs_per_sec": r.MsgsPerSec, "baseline_msgs_per_sec": r.BaselineMsgsPerSec,
		"call_roundtrip_us": r.CallRoundtripUS, "baseline_call_roundtrip_us": r.BaselineCallRoundtrip,
		"restart_us": r.RestartUS, "baseline_restart_us": r.BaselineRestartUS,
	} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive finite figure", name, v)
		}
	}
}

func TestRun_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bench.Run(ctx, tiny); err != context.Canceled {
		t.Fatalf("Run with a cancelled context: err = %v, want context.Canceled", err)
	}
}

// The benchmarks run one measurement at b.N's size; profile them with
// -cpuprofile/-memprofile. Each reports the harness's own unit beside ns/op.

func BenchmarkSpawnJS(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.SpawnJS(b.N)
	report(b, v, err, "µs/actor")
}

func BenchmarkSpawnGo(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.SpawnGo(b.N)
	report(b, v, err, "µs/actor")
}

func BenchmarkIdleJS(b *testing.B) {
	v, err := bench.IdleJS(max(b.N, 1000))
	report(b, v, err, "B/actor")
}

func BenchmarkIdleGo(b *testing.B) {
	v, err := bench.IdleGo(max(b.N, 1000))
	report(b, v, err, "B/actor")
}

func BenchmarkThroughputJS(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.ThroughputJS(2, max(b.N/2, 1))
	report(b, v, err, "msgs/s")
}

func BenchmarkThroughputGo(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.ThroughputGo(2, max(b.N/2, 1))
	report(b, v, err, "msgs/s")
}

func BenchmarkRoundtripJS(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.RoundtripJS(b.N)
	report(b, v, err, "µs/call")
}

func BenchmarkRoundtripGo(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.RoundtripGo(b.N)
	report(b, v, err, "µs/call")
}

func BenchmarkRestartJS(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.RestartJS(b.N)
	report(b, v, err, "µs/restart")
}

func BenchmarkRestartGo(b *testing.B) {
	b.ReportAllocs()
	v, err := bench.RestartGo(b.N)
	report(b, v, err, "µs/restart")
}

func report(b *testing.B, v float64, err error, unit string) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(v, unit)
}

func TestHTTPSmall(t *testing.T) {
	r, err := bench.HTTP(context.Background(), bench.HTTPOptions{Requests: 200, Connections: 4, Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS <= 0 || r.BaselineRPS <= 0 || r.JSONRPS <= 0 || r.P99MS <= 0 || r.P99MS < r.P50MS ||
		r.WSMsgsPerSec <= 0 || r.BaselineWSMsgs <= 0 || r.EgressRPS <= 0 || r.BaselineEgressRPS <= 0 {
		t.Fatalf("implausible result: %+v", r)
	}
}
