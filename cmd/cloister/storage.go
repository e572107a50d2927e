package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

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
