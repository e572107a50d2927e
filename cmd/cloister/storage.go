package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cloister-rt/cloister/internal/bench"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/pgstore"

	"github.com/vmihailenco/msgpack/v5"
)

// openStorage opens the embedded storage backend of app in dir (default:
// the manifest's data directory), or returns nil when no worker of app is
// granted storage.
// With pgURL set, the backend is that PostgreSQL database instead.
func openStorage(ctx context.Context, app *manifest.App, dir, pgURL string, log *slog.Logger) (storage.Backend, error) {
	if !app.Storage {
		return nil, nil
	}
	if pgURL != "" {
		b, err := pgstore.Open(ctx, pgURL, pgstore.Options{})
		if err != nil {
			return nil, err
		}
		log.Info("storage opened", "backend", "postgres")
		return b, nil
	}
	if dir == "" {
		dir = app.DataDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("storage opened", "dir", dir)
	return b, nil
}

// runStorageBench is `cloister bench --storage`.
func runStorageBench(ctx context.Context, runs int, quick bool, dir, pgURL string, asJSON bool, stdout io.Writer) error {
	o := bench.StorageOptions{Runs: runs, Dir: dir, PostgresURL: pgURL}
	if quick {
		o.Runs, o.Warmup, o.Window, o.Gets, o.Latency = max(runs, 3), 250*time.Millisecond, 500*time.Millisecond, 30, 200
	}
	r, err := bench.Storage(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "%d rounds, each: %d actors making one-put turns, then raw Pebble commits from %d goroutines (or the other way round),\n"+
		"each on a fresh database in %s, counted over %g s after %g s of warm-up; medians, ratio per round\n",
		r.Runs, r.Actors, r.Actors, r.Dir, r.WindowS, r.WarmupS)
	fmt.Fprintf(stdout, "committed turns/s   %10.0f  raw pebble commits/s %10.0f  ratio %.2f (rounds %.2f–%.2f; goal >= 0.50)\n",
		r.TurnsPerSec, r.BaselineCommitsPerS, r.TurnsRatio, r.TurnsRatioMin, r.TurnsRatioMax)
	fmt.Fprintf(stdout, "CPU per commit      %10.1f µs            raw pebble %10.1f µs  ratio %.2f (GOMAXPROCS %d, load %.2f before, %.2f after)\n",
		r.TurnCPUUS, r.BaselineCommitCPUUS, r.CPURatio, r.GOMAXPROCS, r.LoadBefore, r.LoadAfter)
	fmt.Fprintf(stdout, "CPUs busy           %10.0f %%             raw pebble %10.0f %%  (near 100 %%: bound by CPU; well below: by the disk's syncs)\n",
		100*r.TurnCPUBusy, 100*r.BaselineCPUBusy)
	fmt.Fprintf(stdout, "get from JS         p50 %.2f µs, p99 %.2f µs (goal: p50 <= 3)\n", r.GetUS, r.GetP99US)
	fmt.Fprintf(stdout, "put turn latency    p50 %.2f ms, p99 %.2f ms\n", r.TurnP50MS, r.TurnP99MS)
	switch {
	case r.PostgresError != "":
		fmt.Fprintf(stdout, "postgres: not measured: %s\n", r.PostgresError)
	case r.Postgres:
		fmt.Fprintf(stdout, "postgres: get p50 %.2f µs, put turn p50 %.2f ms, p99 %.2f ms\n", r.PgGetUS, r.PgTurnP50MS, r.PgTurnP99MS)
	default:
		fmt.Fprintln(stdout, "postgres: not measured (no --postgres URL)")
	}
	return nil
}

// storageCmd is `cloister storage`: a process's keys (and, with --values,
// their values) as a stopped node left them.
func storageCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("storage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "the data `DIR` (default: the manifest's data_dir, else "+manifest.DefaultDataDir+" next to it)")
	values := fs.Bool("values", false, "print each value too")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return fmt.Errorf("%w: storage takes a manifest, a process path and an optional key prefix", errUsage)
	}
	dir := *dataDir
	if dir == "" {
		m, err := manifest.Load(fs.Arg(0))
		if err != nil {
			return err
		}
		app, err := m.App(isolate.NewCompiler())
		if err != nil {
			return err
		}
		dir = app.DataDir
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{})
	if err != nil {
		return fmt.Errorf("%w (is a node still running on it?)", err)
	}
	defer b.Close()
	slot := fs.Arg(1)
	u, err := b.Usage(slot)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d keys, %d bytes\n", slot, u.Keys, u.Bytes)
	if at, ok, err := b.GetAlarm(slot); err != nil {
		return err
	} else if ok {
		fmt.Fprintf(stdout, "alarm: %s\n", at.UTC().Format(time.RFC3339Nano))
	}
	opts := storage.ListOptions{Prefix: fs.Arg(2), Limit: storage.MaxLimit}
	for {
		kvs, err := b.List(slot, opts)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			if !*values {
				fmt.Fprintf(stdout, "%q\t%d bytes\n", kv.Key, len(kv.Value))
				continue
			}
			var v any
			if err := msgpack.Unmarshal(kv.Value, &v); err != nil {
				fmt.Fprintf(stdout, "%q\t%x\n", kv.Key, kv.Value)
				continue
			}
			fmt.Fprintf(stdout, "%q\t%v\n", kv.Key, v)
		}
		if len(kvs) < opts.Limit {
			return nil
		}
		opts.Start = kvs[len(kvs)-1].Key + "\x00" // the next key after the last one
	}
}
