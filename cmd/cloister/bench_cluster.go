package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cloister-rt/cloister/internal/bench"
)

// clusterBenchCmd runs bench.Cluster and prints the cross-node figures
// beside the same figures within one node and raw NATS. --runs,
// --messages, --pairs and --calls override the sizes.
func clusterBenchCmd(ctx context.Context, flags bench.Options, quick, verbose, asJSON bool, stdout, stderr io.Writer) error {
	o := bench.ClusterDefaults
	if quick {
		o = bench.ClusterQuick
	}
	if flags.Runs > 0 {
		o.Runs = flags.Runs
	}
	if flags.Messages > 0 {
		o.Messages = flags.Messages
	}
	if flags.Pairs > 0 {
		o.Pairs = flags.Pairs
	}
	if flags.Calls > 0 {
		o.Calls, o.RTTs = flags.Calls, flags.Calls
	}
	if verbose {
		o.Progress = stderr
	}
	r, err := bench.Cluster(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "two nodes in one process over an embedded NATS server on loopback; medians of %d rounds; %d pairs × %d messages, %d calls\n",
		r.Runs, r.Pairs, r.Messages, r.Calls)
	fmt.Fprintf(stdout, "GOMAXPROCS %d, 1-minute load %.2f before, %.2f after\n", r.GOMAXPROCS, r.LoadBefore, r.LoadAfter)
	fmt.Fprintf(stdout, "%-24s %12s %12s %8s  %s\n", "", "across nodes", "one node", "ratio", "goal")
	fmt.Fprintf(stdout, "%-24s %12.0f %12.0f %7.2fx  %s\n", "one-way JS→JS msgs/s", r.MsgsPerSec, r.WithinNodeMsgsPerSec, r.MsgsRatio, met(r.MsgsPerSec >= 500_000, "≥ 500k"))
	fmt.Fprintf(stdout, "%-24s %12.1f %12.1f %7.2fx  %s\n", "JS→JS call p50 µs", r.CallP50US, r.WithinNodeCallP50US, r.CallP50Ratio, met(r.CallP50US <= 150, "≤ 150 µs"))
	fmt.Fprintf(stdout, "%-24s %12.1f %12.1f\n", "JS→JS call p99 µs", r.CallP99US, r.WithinNodeCallP99US)
	fmt.Fprintf(stdout, "raw NATS request/reply: p50 %.1f µs, p99 %.1f µs; a call across nodes is %.2fx its p50\n",
		r.BaselineNATSRTTP50US, r.BaselineNATSRTTP99US, r.CallVsNATSRatio)
	if r.MTLS != nil {
		fmt.Fprintf(stdout, "over mutual TLS: %.0f msgs/s, call p50 %.1f µs, p99 %.1f µs\n", r.MTLS.MsgsPerSec, r.MTLS.CallP50US, r.MTLS.CallP99US)
	}
	fmt.Fprintf(stdout, "%.1f frames per NATS message; %d sends refused for backpressure and retried; window full %d times\n",
		r.FramesPerBatch, r.Backpressure, r.WindowStalls)
	return nil
}

func met(ok bool, goal string) string {
	if ok {
		return "met (" + goal + ")"
	}
	return "missed (" + goal + ")"
}
