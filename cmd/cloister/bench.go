package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/bench"
	"github.com/cloister-rt/cloister/internal/pretouch"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Nodes are measured as `cloister run` runs them: at its GC target
	// (GOGC, if set, wins), which NewNode leaves to the command.
	if pct := actor.GCPercentFor(actor.DefaultGCPercent); pct > 0 {
		debug.SetGCPercent(pct)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	quick := fs.Bool("quick", false, "smaller sizes: a few seconds, noisier figures")
	var o bench.Options
	fs.IntVar(&o.Runs, "runs", 0, fmt.Sprintf("repetitions per measurement, medians reported (default %d)", bench.Defaults.Runs))
	fs.IntVar(&o.SpawnActors, "spawn", 0, fmt.Sprintf("actors per spawn measurement (default %d)", bench.Defaults.SpawnActors))
	fs.IntVar(&o.IdleActors, "idle", 0, fmt.Sprintf("live actors in the memory measurement (default %d)", bench.Defaults.IdleActors))
	fs.IntVar(&o.IdleRuns, "idle-runs", 0, fmt.Sprintf("repetitions of the memory measurement (default %d)", bench.Defaults.IdleRuns))
	fs.IntVar(&o.Messages, "messages", 0, fmt.Sprintf("one-way messages per pair (default %d)", bench.Defaults.Messages))
	fs.IntVar(&o.Pairs, "pairs", 0, fmt.Sprintf("sender/receiver pairs (default %d)", bench.Defaults.Pairs))
	fs.IntVar(&o.Calls, "calls", 0, fmt.Sprintf("sequential calls per roundtrip run (default %d)", bench.Defaults.Calls))
	fs.IntVar(&o.Restarts, "restarts", 0, fmt.Sprintf("crashes per restart run (default %d)", bench.Defaults.Restarts))
	verbose := fs.Bool("v", false, "report each measurement on stderr as it finishes")
	noisy := fs.Bool("noisy", false, "run the noisy-neighbour benchmark instead (docs/limits.md)")
	httpBench := fs.Bool("http", false, "run the HTTP benchmark instead: a script's fetch behind the gateway against a plain Go handler (docs/http.md)")
	clusterBench := fs.Bool("cluster", false, "run the cluster benchmark instead: two nodes over an embedded NATS server against one node and raw NATS (docs/benchmarks.md)")
	storageBench := fs.Bool("storage", false, "run the storage benchmark instead (docs/storage.md)")
	storageDir := fs.String("storage-dir", "", "with --storage: create the databases under `DIR` (default: the system's temporary directory)")
	pgURL := fs.String("postgres", os.Getenv("CLOISTER_PG_URL"), "with --storage: measure PostgreSQL at `URL` too (default $CLOISTER_PG_URL)")
	pretouchHeap := addPretouchFlag(fs)
	if pos, err := parseFlags(fs, "bench [flags]", args, stdout); err != nil {
		return err
	} else if len(pos) != 0 {
		return fmt.Errorf("%w: bench takes no arguments", errUsage)
	}
	if *pretouchHeap > 0 {
		// The benchmarks make their own nodes: the process is pre-touched
		// here, as the first node of `cloister run` would do it.
		if err := lazyFreeFor(*pretouchHeap); err != nil {
			return err
		}
		r, err := pretouch.Heap(int64(*pretouchHeap))
		if err != nil {
			return fmt.Errorf("--pretouch-heap: %w", err)
		}
		reportPretouch(stderr, r)
	}
	if *clusterBench {
		return clusterBenchCmd(ctx, o, *quick, *verbose, *asJSON, stdout, stderr)
	}
	if *storageBench {
		return runStorageBench(ctx, o.Runs, *quick, *storageDir, *pgURL, *asJSON, stdout)
	}
	if *noisy {
		return noisyBench(ctx, o.Runs, *asJSON, stdout)
	}
	if *httpBench {
		return httpBenchCmd(ctx, o.Runs, *quick, *asJSON, stdout)
	}
	o = sized(o, *quick)
	if *verbose {
		o.Progress = stderr
	}
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "medians of %d runs (memory: %d runs of %d actors); baseline = plain protoactor-go actors in the same run\n",
		r.Runs, o.IdleRuns, r.IdleActors)
	fmt.Fprintf(stdout, "GOMAXPROCS %d, 1-minute load %.2f before, %.2f after\n", r.GOMAXPROCS, r.LoadBefore, r.LoadAfter)
	fmt.Fprintf(stdout, "%-20s %12s %12s %8s %10s  %s\n", "", "cloister", "baseline", "cost", "target", "unit")
	// row prints a figure beside its baseline; cost is how many times worse
	// than the baseline it is, whichever way "worse" points.
	row := func(name string, v, base, target float64, higherIsBetter bool, unit string) {
		cost, met := v/base, v <= target
		if higherIsBetter {
			cost, met = base/v, v >= target
		}
		mark := "met"
		if !met {
			mark = "missed"
		}
		fmt.Fprintf(stdout, "%-20s %12.2f %12.2f %7.1fx %10s  %s (target %g)\n", name, v, base, cost, mark, unit, target)
	}
	row("spawn", r.SpawnUS, r.BaselineSpawnUS, 10, false, "µs/actor")
	row("idle memory", r.IdleActorBytes/1024, r.BaselineIdleActorBytes/1024, 6, false, "KB/actor")
	row("one-way throughput", r.MsgsPerSec, r.BaselineMsgsPerSec, 1e6, true, "msgs/s")
	row("call roundtrip", r.CallRoundtripUS, r.BaselineCallRoundtrip, 3, false, "µs")
	row("restart", r.RestartUS, r.BaselineRestartUS, 50, false, "µs, crash to next message answered")
	if r.Caps != nil {
		fmt.Fprintf(stdout, "capability checks: %.1f%% of a JS send (%d checks of %.0f ns in a %.0f ns send); "+
			"a message with 10 capabilities costs %.2fx one with none (%.1f vs %.1f µs)\n",
			r.SendCheckOverheadPct, r.Caps.ChecksPerSend, r.Caps.CheckNS, r.Caps.SendNS,
			r.CapsTransferRatio, r.Caps.Transfer10US, r.Caps.Transfer0US)
	} else if r.CapsError != "" {
		fmt.Fprintf(stdout, "capability checks: not measured: %s\n", r.CapsError)
	}
	return nil
}

// sized fills the sizes not set by a flag from the defaults or, with quick,
// from the quick sizes.
func sized(o bench.Options, quick bool) bench.Options {
	d := bench.Defaults
	if quick {
		d = bench.Quick
	}
	for _, f := range []struct{ v, def *int }{
		{&o.Runs, &d.Runs}, {&o.SpawnActors, &d.SpawnActors}, {&o.IdleActors, &d.IdleActors},
		{&o.IdleRuns, &d.IdleRuns}, {&o.Messages, &d.Messages}, {&o.Pairs, &d.Pairs},
		{&o.Calls, &d.Calls}, {&o.Restarts, &d.Restarts},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return o
}

// noisyBench runs bench.Noisy and prints each case's p99 beside the quiet one.
func noisyBench(ctx context.Context, runs int, asJSON bool, stdout io.Writer) error {
	r, err := bench.Noisy(ctx, runs)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "noisy neighbours: %d sequential calls to a well-behaved tenant, medians of %d runs, GOMAXPROCS %d\n", r.Calls, r.Runs, r.GOMAXPROCS)
	fmt.Fprintf(stdout, "%-15s %10s %10s %9s %10s %8s  %s\n", "beside", "p50 µs", "p99 µs", "p99/quiet", "peak MiB", "crashes", "offender")
	for _, c := range r.Cases {
		fmt.Fprintf(stdout, "%-15s %10.1f %10.1f %8.2fx %10.1f %8d  %s\n", c.Name, c.P50US, c.P99US, c.P99Ratio, c.PeakHeapMB, c.Crashes, c.Note)
	}
	return nil
}

// writeJSON writes v to w as indented JSON, for the --json flags.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
