package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/cloister-rt/cloister/internal/bench"
	"github.com/cloister-rt/cloister/manifest"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/pgstore"
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
func runStorageBench(ctx context.Context, runs int, quick bool, pgURL string, asJSON bool, stdout io.Writer) error {
	o := bench.StorageOptions{Runs: runs, PostgresURL: pgURL}
	if quick {
		o.Runs, o.Turns, o.Latency = max(runs, 1), 50, 200
	}
	r, err := bench.Storage(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "medians of %d runs; %d actors x %d one-put turns, against raw Pebble commits from %d goroutines in the same run\n",
		r.Runs, r.Actors, r.Turns, r.Actors)
	fmt.Fprintf(stdout, "committed turns/s   %10.0f  raw pebble commits/s %10.0f  ratio %.2f (goal >= 0.50)\n",
		r.TurnsPerSec, r.BaselineCommitsPerS, r.TurnsRatio)
	fmt.Fprintf(stdout, "get from JS         %10.2f µs (goal <= 3)\n", r.GetUS)
	fmt.Fprintf(stdout, "put turn latency    p50 %.2f ms, p99 %.2f ms\n", r.TurnP50MS, r.TurnP99MS)
	switch {
	case r.PostgresError != "":
		fmt.Fprintf(stdout, "postgres: not measured: %s\n", r.PostgresError)
	case r.Postgres:
		fmt.Fprintf(stdout, "postgres: get %.2f µs, put turn p50 %.2f ms, p99 %.2f ms\n", r.PgGetUS, r.PgTurnP50MS, r.PgTurnP99MS)
	default:
		fmt.Fprintln(stdout, "postgres: not measured (no --postgres URL)")
	}
	return nil
}
