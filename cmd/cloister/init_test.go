package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInit_ScaffoldChecksAndRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hello")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"init", dir}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"app.yaml", "counter.ts", "client.ts", "cloister.d.ts", "tsconfig.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
		if !strings.Contains(out.String(), filepath.Join(dir, f)) {
			t.Errorf("init did not list %s:\n%s", f, out.String())
		}
	}
	app := filepath.Join(dir, "app.yaml")
	out.Reset()
	if err := run(context.Background(), []string{"check", app}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("check of the scaffold: %v", err)
	}
	// The client calls the counter once a second and logs the answer.
	stderr, stop := start(t, "run", app)
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if !strings.Contains(stderr.String(), "count is 2") {
			return fmt.Errorf("the scaffold has not counted to 2:\n%s", stderr)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(stderr.String(), "counter stopping: shutdown") {
		t.Errorf("the counter's terminate did not run:\n%s", stderr)
	}

	// A second init refuses to overwrite what is there.
	if err := os.WriteFile(filepath.Join(dir, "counter.ts"), []byte("// mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"init", dir}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, errExists) || !strings.Contains(err.Error(), "counter.ts") {
		t.Fatalf("init over an application: %v, want %v naming the files", err, errExists)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "counter.ts")); string(b) != "// mine" {
		t.Fatal("init overwrote a file without --force")
	}
}
