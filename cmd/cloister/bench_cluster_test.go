package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// bench --cluster --json prints the keys the issue tracker reads, each a
// positive figure; run at the smallest sizes, so the figures mean little.
func TestBenchCluster_JSONKeys(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"bench", "--cluster", "--json", "--runs", "1", "--messages", "200", "--pairs", "1", "--calls", "20"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench --cluster: %v\n%s", err, errOut.String())
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"cluster_msgs_per_sec", "cluster_call_p50_us", "cluster_call_p99_us", "baseline_nats_rtt_p50_us",
		"within_node_msgs_per_sec", "within_node_call_p50_us", "within_node_call_p99_us",
		"cluster_msgs_ratio", "cluster_call_p50_ratio", "cluster_call_vs_nats_ratio"} {
		if v, ok := r[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, r[k])
		}
	}
	if got := r["runs"]; got != float64(1) {
		t.Errorf("runs = %v, want the 1 given by --runs", got)
	}

	out.Reset()
	if err := run(context.Background(), []string{"bench", "--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  -cluster") {
		t.Errorf("bench --help does not list -cluster:\n%s", out.String())
	}
}
