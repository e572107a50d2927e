package bench_test

import (
	"context"
	"math"
	"testing"

	"github.com/cloister-rt/cloister/internal/bench"
)

// TestCluster_Tiny runs the cluster benchmark once at minimal sizes, over
// plain TCP and mutual TLS, so that CI catches a harness that no longer
// runs; the figures mean little.
func TestCluster_Tiny(t *testing.T) {
	r, err := bench.Cluster(context.Background(), bench.ClusterOptions{Runs: 1, Messages: 300, Pairs: 1, Calls: 20, RTTs: 20, MTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if len(r.Rounds) != 1 {
		t.Fatalf("%d rounds measured, want 1", len(r.Rounds))
	}
	if r.MTLS == nil {
		t.Fatal("no mTLS figures, though asked for")
	}
	for name, v := range map[string]float64{
		"cluster_msgs_per_sec": r.MsgsPerSec, "cluster_call_p50_us": r.CallP50US, "cluster_call_p99_us": r.CallP99US,
		"baseline_nats_rtt_p50_us": r.BaselineNATSRTTP50US, "within_node_msgs_per_sec": r.WithinNodeMsgsPerSec,
		"within_node_call_p50_us": r.WithinNodeCallP50US, "within_node_call_p99_us": r.WithinNodeCallP99US,
		"cluster_msgs_ratio": r.MsgsRatio, "cluster_call_p50_ratio": r.CallP50Ratio,
		"cluster_call_vs_nats_ratio": r.CallVsNATSRatio, "cluster_frames_per_batch": r.FramesPerBatch,
		"cluster_mtls_msgs_per_sec": r.MTLS.MsgsPerSec, "cluster_mtls_call_p50_us": r.MTLS.CallP50US,
	} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive finite figure", name, v)
		}
	}
	if r.CallP50US > r.CallP99US || r.WithinNodeCallP50US > r.WithinNodeCallP99US {
		t.Errorf("a p50 above its p99: %+v", r)
	}
}

func TestCluster_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bench.Cluster(ctx, bench.ClusterOptions{Runs: 1, Messages: 10, Pairs: 1, Calls: 2, RTTs: 2}); err != context.Canceled {
		t.Fatalf("Cluster with a cancelled context: err = %v, want context.Canceled", err)
	}
}

// The cross-node measurements as Go benchmarks, for pprof:
//
//	go test -run XXX -bench ClusterThroughput -benchtime 200000x -cpuprofile cl.cpu ./internal/bench

func BenchmarkClusterThroughput(b *testing.B) {
	r, err := bench.ClusterThroughput(2, max(b.N/2, 1), false)
	report(b, r, err, "msgs/s")
}

func BenchmarkClusterCall(b *testing.B) {
	p50, err := bench.ClusterCallP50(max(b.N, 2), false)
	report(b, p50, err, "p50-µs")
}
