package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const bootsJS = `
export function init(args, ctx) {
  const n = (ctx.storage.get("boots") ?? 0) + 1;
  ctx.storage.put("boots", n);
  console.log("boots=" + n);
}
export function receive() {}`

// runUntil runs `cloister args...` until stderr holds want, then stops it.
func runUntil(t *testing.T, want string, args ...string) {
	t.Helper()
	stderr, stop := start(t, args...)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if !strings.Contains(stderr.String(), want) {
			return fmt.Errorf("no %q yet:\n%s", want, stderr)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
}

// TestRun_StorageSurvivesRestart: a second run of the same manifest finds
// what the first committed, in the directory next to the manifest;
// --data moves it.
func TestRun_StorageSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "boots.js", bootsJS)
	app := writeFile(t, dir, "app.yaml", "root:\n  strategy: one_for_one\n  children:\n    - name: boots\n      script: boots.js\n      storage: true\n")
	runUntil(t, "boots=1", "run", app)
	runUntil(t, "boots=2", "run", app)
	if _, err := os.Stat(filepath.Join(dir, "cloister-data")); err != nil {
		t.Fatalf("no data directory next to the manifest: %v", err)
	}
	other := filepath.Join(t.TempDir(), "elsewhere")
	runUntil(t, "boots=1", "run", "--data", other, app)
	runUntil(t, "boots=3", "run", app)

	// The stopped node's data, from the command line.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"storage", "--values", app, "boots"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "boots: 1 keys") || !strings.Contains(got, "\"boots\"\t3") {
		t.Fatalf("cloister storage printed:\n%s", got)
	}
}
