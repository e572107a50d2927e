package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"cloister/internal/bench"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the results as JSON")
	o := bench.Defaults
	fs.IntVar(&o.Runs, "runs", o.Runs, "repetitions per measurement (medians are reported)")
	fs.IntVar(&o.IdleActors, "idle", o.IdleActors, "live actors in the memory measurement")
	fs.IntVar(&o.Messages, "messages", o.Messages, "one-way messages per pair")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	r, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "medians of %d runs; baseline = plain protoactor-go actors in the same run\n", o.Runs)
	fmt.Fprintf(stdout, "%-28s %12s %12s %8s\n", "", "cloister", "baseline", "ratio")
	row := func(name string, v, base float64, unit string) {
		fmt.Fprintf(stdout, "%-28s %12.2f %12.2f %7.1fx  %s\n", name, v, base, v/base, unit)
	}
	row("spawn", r.SpawnUS, r.BaselineSpawnUS, "µs/actor")
	row("idle memory", r.IdleActorBytes/1024, r.BaselineIdleActorBytes/1024, "KB/actor")
	row("one-way throughput", r.MsgsPerSec, r.BaselineMsgsPerSec, "msgs/s")
	row("call roundtrip", r.CallRoundtripUS, r.BaselineCallRoundtrip, "µs")
	return nil
}
