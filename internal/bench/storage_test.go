package bench_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/bench"
)

// TestStorage_Tiny runs the storage benchmark once at sizes that finish in
// about a second, so that CI catches a harness that no longer runs; the
// figures mean little.
func TestStorage_Tiny(t *testing.T) {
	r, err := bench.Storage(context.Background(), bench.StorageOptions{Runs: 2, Actors: 4,
		Warmup: 20 * time.Millisecond, Window: 100 * time.Millisecond, Gets: 3, Latency: 10, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cloister) != 2 || len(r.Raw) != 2 {
		t.Fatalf("%d and %d rounds measured, want 2 of each", len(r.Cloister), len(r.Raw))
	}
	for name, v := range map[string]float64{
		"storage_turns_per_sec": r.TurnsPerSec, "baseline_storage_commits_per_sec": r.BaselineCommitsPerS,
		"storage_turns_ratio": r.TurnsRatio,
		"storage_turn_p50_ms": r.TurnP50MS, "storage_turn_p99_ms": r.TurnP99MS,
	} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive finite figure", name, v)
		}
	}
	// A get's time is the difference of two calls' wall times (with and
	// without the gets); from the 3 samples of this tiny run, a call
	// descheduled on a loaded machine can make it come out negative.
	if math.IsNaN(r.GetUS) || math.IsInf(r.GetUS, 0) || r.GetUS == 0 {
		t.Errorf("storage_get_us = %v, want a measured finite figure", r.GetUS)
	}
	if r.TurnsRatioMin > r.TurnsRatio || r.TurnsRatio > r.TurnsRatioMax {
		t.Errorf("ratio %v outside its rounds' range %v–%v", r.TurnsRatio, r.TurnsRatioMin, r.TurnsRatioMax)
	}
	if r.TurnCPUUS > 0 { // the process's CPU time is readable here
		for name, v := range map[string]float64{"storage_cpu_ratio": r.CPURatio,
			"storage_turn_cpu_busy": r.TurnCPUBusy, "baseline_storage_cpu_busy": r.BaselineCPUBusy} {
			if !(v > 0) || math.IsInf(v, 0) {
				t.Errorf("%s = %v, want a positive finite figure", name, v)
			}
		}
	}
	if r.TurnP50MS > r.TurnP99MS {
		t.Errorf("turn p50 %v ms above its p99 %v ms", r.TurnP50MS, r.TurnP99MS)
	}
}
