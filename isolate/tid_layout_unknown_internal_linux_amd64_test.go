//go:build linux && amd64 && !(go1.26 && !go1.27)

package isolate

import (
	"runtime"
	"testing"
)

// TestThreadID_RuntimeLayout fails on a Go version this package has no
// runtime offsets for: turns stay correct but pay a gettid per mailbox run.
func TestThreadID_RuntimeLayout(t *testing.T) {
	t.Fatalf("%s: no runtime offsets for this Go version; read its runtime2.go and update tid_linux_amd64.go's build tags and offsets", runtime.Version())
}
