package metrics_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// TestMetrics_OnAnEmbeddersRegistry: the metrics register on a registry
// that already has the Go and process collectors, and report the node.
func TestMetrics_OnAnEmbeddersRegistry(t *testing.T) {
	src, err := os.ReadFile("testdata/worker.js")
	if err != nil {
		t.Fatal(err)
	}
	s, err := isolate.Compile("worker.js", src)
	if err != nil {
		t.Fatal(err)
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(node)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := reg.Register(m); err != nil {
		t.Fatalf("registering the metrics next to the Go collectors: %v", err)
	}
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{{Name: "a", Script: s}, {Name: "b", Script: s}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Shutdown(context.Background()) })
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		families, err := reg.Gather()
		if err != nil {
			return err
		}
		got := map[string]float64{}
		for _, f := range families {
			if f.GetName() == "cloister_spawns_total" || f.GetName() == "cloister_events_dropped_total" {
				for _, mt := range f.GetMetric() {
					got[f.GetName()] += mt.GetCounter().GetValue()
				}
			}
		}
		if got["cloister_spawns_total"] != 2 {
			return fmt.Errorf("cloister_spawns_total = %v, want 2 (a and b)", got["cloister_spawns_total"])
		}
		if v, ok := got["cloister_events_dropped_total"]; !ok || v != 0 {
			return fmt.Errorf("cloister_events_dropped_total = %v (present %v), want 0", v, ok)
		}
		return nil
	})
}
