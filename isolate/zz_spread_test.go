package isolate_test

import (
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

func TestZZSpread(t *testing.T) {
	iso, _ := newIsolate(t, "const o = {a: 1, b: 2, c: 3}; export function receive() { let n = 0; for (let i = 0; i < 2e5; i++) n += Object.keys({ ...o, x: i }).length; return n; }", isolate.Limits{CPU: 10 * time.Second, Memory: 64 << 20})
	var best time.Duration
	for k := 0; k < 7; k++ {
		t0 := time.Now()
		answer(t, turn(t, iso, map[string]any{}))
		if d := time.Since(t0); k == 0 || d < best {
			best = d
		}
	}
	t.Logf("best %v per spread", best/2e5)
}
