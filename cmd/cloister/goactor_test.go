package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoActor_CheckAcceptsRunRefuses: the CLI registers no Go actors. check
// validates a manifest that names one (an embedding program may register
// it); run refuses to start it and names the child and the receiver.
func TestGoActor_CheckAcceptsRunRefuses(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "app.yaml")
	src := "root:\n  strategy: one_for_one\n  children:\n    - name: ingest\n      go: ingest\n    - name: js\n      script: js.js\n      grants:\n        ingest: {to: ingest, rights: [send]}\n"
	if err := os.WriteFile(manifest, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "js.js"), []byte("export function receive() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", manifest}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, want := range []string{"app.yaml: ok\n", `ingest runs the Go actor "ingest"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check printed %q, want %q in it", out.String(), want)
		}
	}
	err := run(context.Background(), []string{"run", manifest}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("run started a node with an unregistered Go actor")
	}
	for _, want := range []string{`"ingest"`, `no Go receiver "ingest" is registered`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run: %q does not contain %q", err, want)
		}
	}
}
