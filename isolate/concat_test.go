package isolate_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// allocated is the bytes the process has allocated on the heap so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestConcat_DoublingStopsAtTheMemoryLimit sets off the string-doubling
// bombs of dos_strings.js with a CPU limit they cannot reach first, so
// that memory is what stops them. Each must end in memory_limit, and the
// turn must allocate no more than a doubling that stops at the limit
// does: a string from 1 unit to 32 Mi units is 64 MiB in all, and the
// next step, 64 MiB more, is refused before it is made. Before `+` was
// guarded the step that crossed the limit ran to completion (a 128 MiB
// string at least, 192 MiB allocated in the turn).
func TestConcat_DoublingStopsAtTheMemoryLimit(t *testing.T) {
	const limit = 64 << 20
	src := dosScript(t, filepath.Join("..", "testdata", "hostile", "dos_strings.js"))
	for _, tc := range []struct {
		bomb  string
		bound float64 // bytes allocated in the turn, as a multiple of the limit
	}{
		{"double", 1.1}, {"doublePlus", 1.1}, {"doubleUnicode", 1.1}, {"doubleTemplate", 1.1},
		{"doubleTemplateText", 1.1}, {"doubleObject", 1.1}, {"doubleMember", 1.1}, {"doubleIndex", 1.1},
		{"doubleEval", 1.1}, {"doubleFunction", 1.1}, {"keepSums", 1.1},
		{"doubleConcat", 1.1}, {"doubleJoin", 1.1}, {"rawDouble", 1.1}, {"doubleRepeat", 1.1}, {"doublePad", 1.1},
	} {
		t.Run(tc.bomb, func(t *testing.T) {
			iso, _ := newIsolate(t, src, isolate.Limits{CPU: 20 * time.Second, Memory: limit})
			defer iso.Close()
			runtime.GC()
			before := allocated()
			o := turn(t, iso, map[string]any{"type": "bomb", "name": tc.bomb})
			got := allocated() - before
			t.Logf("%s: %v; %.1f MiB allocated in the turn", tc.bomb, o.Crash, float64(got)/(1<<20))
			if !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
				t.Errorf("%s ended in %v, want memory_limit", tc.bomb, o.Crash)
			}
			if float64(got) > tc.bound*limit {
				t.Errorf("%s allocated %.1f MiB in the turn, over %.1f × the %d MiB limit", tc.bomb, float64(got)/(1<<20), tc.bound, limit>>20)
			}
		})
	}
}
