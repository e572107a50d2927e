package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/cloister-rt/cloister/manifest"
	"github.com/cloister-rt/cloister/storage"
)

// openStorage opens the embedded storage backend of app in dir (default:
// the manifest's data directory), or returns nil when no worker of app is
// granted storage.
func openStorage(app *manifest.App, dir string, log *slog.Logger) (storage.Backend, error) {
	if !app.Storage {
		return nil, nil
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
