package actor_test

import (
	"bytes"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/pretouch"
)

func TestNewNode_PretouchHeap(t *testing.T) {
	if r := pretouch.Done(); r.Bytes != 0 {
		t.Skipf("this process already pre-touched %d bytes", r.Bytes)
	}
	// The faults counted are those of touching fresh pages: free pages
	// the tests before this one left resident (a higher peak heap) would
	// be touched without one.
	debug.FreeOSMemory()
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	// Refused above the soft memory limit, before anything is touched.
	if _, err := actor.NewNode(actor.Options{PretouchHeap: 64 << 20, MemoryLimit: 32 << 20}); err == nil ||
		!strings.Contains(err.Error(), "memory limit") {
		t.Errorf("NewNode with 64 MiB to pre-touch under a 32 MiB limit: err %v, want the limit named", err)
	}
	debug.SetMemoryLimit(1 << 62) // none, for the rest of the test

	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	if _, err := actor.NewNode(actor.Options{PretouchHeap: 8 << 20, Logger: log}); err != nil {
		t.Fatal(err)
	}
	r := pretouch.Done()
	// Faults may be 0: earlier tests in this process can have left that
	// much of the heap resident, and touching it then faults nowhere.
	if r.Bytes != 8<<20 || r.Faults < 0 {
		t.Errorf("after NewNode with PretouchHeap 8 MiB: %+v, want 8 MiB touched and a fault count", r)
	}
	if got := strings.Count(logged.String(), "heap pre-touched"); got != 1+b2i(!r.LazyFree) {
		t.Errorf("NewNode logged %d pre-touch lines, want %d:\n%s", got, 1+b2i(!r.LazyFree), logged.String())
	}
	if !strings.Contains(logged.String(), "bytes=8388608") {
		t.Errorf("the log does not say how much was touched:\n%s", logged.String())
	}

	// Process-wide and once: a second node changes nothing and says nothing.
	logged.Reset()
	if _, err := actor.NewNode(actor.Options{PretouchHeap: 16 << 20, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if again := pretouch.Done(); again != r {
		t.Errorf("after a second node: %+v, want the first's %+v", again, r)
	}
	if logged.Len() != 0 {
		t.Errorf("the second node logged:\n%s", logged.String())
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
