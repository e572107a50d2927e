package isolate_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

func TestReloader_CompilesWhatChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.js")
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := isolate.NewReloader()
	write(`export function receive() { return 1; }`)
	s1, changed, err := r.Load(path)
	if err != nil || !changed {
		t.Fatalf("first load: %v, changed %v", err, changed)
	}
	if s, changed, err := r.Load(path); err != nil || changed || s != s1 {
		t.Fatalf("unchanged file: %v, changed %v, same script %v", err, changed, s == s1)
	}
	write(`export function receive() { return 2; }`)
	s2, changed, err := r.Load(path)
	if err != nil || !changed || s2 == s1 {
		t.Fatalf("edited file: %v, changed %v", err, changed)
	}
	write("export function receive( {\n")
	var ce *isolate.CompileError
	if _, _, err := r.Load(path); !errors.As(err, &ce) || ce.Line != 2 {
		t.Fatalf("broken file: %v, want a compile error on line 2", err)
	}
	write(`export function receive() { return 2; }`)
	if s, changed, err := r.Load(path); err != nil || changed || s != s2 {
		t.Fatalf("the last good content again: %v, changed %v, same script %v", err, changed, s == s2)
	}
	if s, err := r.Reload(s1); err != nil || s != s2 {
		t.Fatalf("Reload of an older script: %v, got the current one %v", err, s == s2)
	}
}
