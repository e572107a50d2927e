package main

import (
	"context"
	"fmt"
	"io"

	"github.com/cloister-rt/cloister/internal/bench"
)

// httpBenchCmd runs bench.HTTP and prints fetch beside the plain Go handler.
func httpBenchCmd(ctx context.Context, runs int, quick, asJSON bool, stdout io.Writer) error {
	o := bench.HTTPDefaults
	if quick {
		o.Requests, o.Runs = 2_000, 1
	}
	if runs > 0 {
		o.Runs = runs
	}
	r, err := bench.HTTP(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "HTTP on loopback: %d requests from %d kept-alive clients, medians of %d runs, GOMAXPROCS %d, load %.2f before, %.2f after\n",
		r.Requests, r.Connections, r.Runs, r.GOMAXPROCS, r.LoadBefore, r.LoadAfter)
	fmt.Fprintf(stdout, "%-28s %12s %12s\n", "", "fetch (JS)", "plain Go")
	fmt.Fprintf(stdout, "%-28s %12.0f %12.0f  (%.0f%% of Go; goal 40%%)\n", "hello world, requests/s", r.RPS, r.BaselineRPS, 100*r.RPSRatio)
	fmt.Fprintf(stdout, "%-28s %12.0f %12.0f\n", "JSON echo, requests/s", r.JSONRPS, r.BaselineJSONRPS)
	fmt.Fprintf(stdout, "%-28s %12.2f %12.2f\n", "p50 ms at half the max rate", r.P50MS, r.BaselineP50MS)
	fmt.Fprintf(stdout, "%-28s %12.2f %12.2f  (goal 5 ms)\n", "p99 ms at half the max rate", r.P99MS, r.BaselineP99MS)
	fmt.Fprintf(stdout, "%-28s %12.0f %12.0f  (%d echoes)\n", "WebSocket echoes/s", r.WSMsgsPerSec, r.BaselineWSMsgs, r.WSMessages)
	fmt.Fprintf(stdout, "%-28s %12.0f %12.0f  (%d sequential requests)\n", "egress fetches/s", r.EgressRPS, r.BaselineEgressRPS, r.EgressRequests)
	return nil
}
