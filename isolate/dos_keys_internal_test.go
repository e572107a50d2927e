package isolate

import (
	"testing"
	"time"
)

// Enumerating a dense ordinary array of keysArrayMin elements or more is
// charged what goja makes of it, as a typed array's is; a shorter one is
// not looked at.
func TestKeys_OrdinaryArraysAreCharged(t *testing.T) {
	i := guardedRuntime(t)
	i.cfg.Limits.CPU = time.Hour // the time left outside a turn: no estimate refuses
	i.builtins.bindOps()         // %big, for the spread
	if _, err := i.rt.RunString(`var big = [], small = []; for (let k = 0; k < 2e5; k++) big[k] = k; for (let k = 0; k < 100; k++) small[k] = k;`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src  string
		want int64
	}{
		{"Object.keys(big).length", 2e5 * keysListCost.bytes},
		{"Object.values(big).length", 2e5 * keysValuesCost.bytes},
		{"Object.keys({ ...big }).length", 2e5 * keysCopyCost.bytes},
		{"Object.keys(small).length", 0},
	} {
		i.lim.used, i.lim.pending = 0, 0
		if _, err := runRewritten(i, c.src); err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if i.lim.pending != c.want {
			t.Errorf("%s charged %d bytes, want %d", c.src, i.lim.pending, c.want)
		}
	}
}
