package isolate

import (
	"testing"
	"time"

	"github.com/cloister-rt/cloister/mailbox"
)

// TestLimiter_SmallIsolatesSkipTheCounter: the short turns of an isolate
// whose heap walks are cheap take their upper bound without reading the
// process's allocation counter, and its heap is walked before that bound
// reaches half its limit; an isolate whose walks are dear reads it every
// turn.
func TestLimiter_SmallIsolatesSkipTheCounter(t *testing.T) {
	s, err := Compile("c.js", []byte(`let n = 0; export function receive(m) { n++; }`))
	if err != nil {
		t.Fatal(err)
	}
	env := mailbox.NewEnvelope([]byte{0xc0}, nil)
	run := func(i *Isolate, turns int) {
		for k := 0; k < turns; k++ {
			var crash error
			i.Receive(env, false, func(o Outcome) { crash = o.Crash })
			if crash != nil {
				t.Fatal(crash)
			}
			if p := i.lim.used + i.lim.pending + i.lim.held; p > i.lim.limit/2+skipReadMax {
				t.Fatalf("turn %d: %d bytes charged, over half the limit %d", k, p, i.lim.limit)
			}
		}
	}
	small, err := New(s, Config{Name: "small", Host: acctHost{}, Limits: Limits{CPU: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	run(small, 3000)
	t.Logf("small: %d reads, %d walks (last %v) in 3000 turns", small.lim.reads, small.lim.walks, small.lim.lastWalk)
	// Which turns are short enough to skip depends on the machine; the
	// decision itself does not.
	l := small.lim
	l.used, l.held, l.lastWalk, l.skipped, l.frac = 1<<20, 0, 100*time.Microsecond, 0, 1
	if !l.skipRead(64<<10) || l.skipRead(skipReadMax+1) {
		t.Errorf("cheap walks: skip a 64 KiB bound %v, one over skipReadMax %v", l.skipRead(64<<10), l.skipRead(skipReadMax+1))
	}
	l.lastWalk = 10 * time.Millisecond
	if l.skipRead(64 << 10) {
		t.Error("walks of 10 ms: a 64 KiB bound is taken without reading")
	}
	l.used, l.lastWalk = l.limit/2, 0
	if l.skipRead(1) {
		t.Error("half the limit held: a bound is taken without reading")
	}
	dear, err := New(s, Config{Name: "dear", Host: acctHost{}, Limits: Limits{CPU: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer dear.Close()
	dear.lim.lastWalk = time.Second // as if its heap took a second to walk
	before := dear.lim.reads        // the module's turn may have read it
	run(dear, 100)
	if n := dear.lim.reads - before; n != 100 {
		t.Errorf("an isolate with dear walks read the counter in %d of 100 turns", n)
	}
}
