package bench_test

import (
	"context"
	"testing"

	"github.com/cloister-rt/cloister/internal/bench"
)

func TestCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a node for a few seconds")
	}
	r, err := bench.Caps(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.SendNS <= 0 || r.CheckNS <= 0 || r.Transfer0US <= 0 || r.Transfer10US <= 0 {
		t.Fatalf("a measurement is not positive: %+v", r)
	}
	if got, want := r.ChecksPerSend, 2; got != want {
		t.Errorf("ChecksPerSend = %d, want %d", got, want)
	}
}

func TestCaps_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bench.Caps(ctx, 1); err == nil {
		t.Fatal("Caps with a cancelled context returned no error")
	}
}

// BenchmarkCapabilityCheck times the check that every send passes twice.
func BenchmarkCapabilityCheck(b *testing.B) {
	for b.Loop() {
		bench.CheckNS(1000)
	}
	b.ReportMetric(bench.CheckNS(1_000_000), "ns/check")
}

// BenchmarkCaps reports the capability figures as benchmark metrics: a JS
// send, a check, the checks' share of a send in percent (goal: at most 5),
// and a message transferred with no capabilities and with ten.
func BenchmarkCaps(b *testing.B) {
	var r bench.CapsResult
	for b.Loop() {
		var err error
		if r, err = bench.Caps(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(r.SendNS, "ns/send")
	b.ReportMetric(r.CheckNS, "ns/check")
	b.ReportMetric(r.CheckOverheadPct, "check-%")
	b.ReportMetric(r.Transfer0US, "µs/msg-0caps")
	b.ReportMetric(r.Transfer10US, "µs/msg-10caps")
	b.ReportMetric(r.TransferRatio, "ratio-10caps")
}
