package isolate_test

import (
	"os"
	"path/filepath"
	"testing"
)

// dosScript compiles a dos_*.js script behind the hostile prelude.
func dosScript(t *testing.T, path string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prelude, err := os.ReadFile(filepath.Join("..", "testdata", "hostile", "support", "prelude.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(prelude) + "\n" + string(src)
}
