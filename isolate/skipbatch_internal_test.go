package isolate

import (
	"errors"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/mailbox"
)

// TestLimiter_SkippedChargesArePutRight: the bounds charged by turns that
// skip the counter are replaced at the next read by what the process
// allocated meanwhile, so a small isolate's short turns no longer bring a
// heap walk every few thousand turns, and the charges not yet put right
// stay within their batch.
func TestLimiter_SkippedChargesArePutRight(t *testing.T) {
	s, err := Compile("c.js", []byte(`let n = 0; export function receive(m) { n++; }`))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "small", Host: acctHost{}, Limits: Limits{CPU: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	env := mailbox.NewEnvelope([]byte{0xc0}, nil)
	l := i.lim
	walks, skips := l.walks, 0
	const turns = 20000
	allocs := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	a0 := allocs()
	for k := 0; k < turns; k++ {
		before := l.reads
		var crash error
		i.Receive(env, false, func(o Outcome) { crash = o.Crash })
		if crash != nil {
			t.Fatal(crash)
		}
		if l.reads == before {
			skips++
		}
		if room := l.limit/2 - l.used - l.held; l.skipped > min(room/4, skipBatchMax) {
			t.Fatalf("turn %d: %d bytes charged without a read, over the batch's %d", k, l.skipped, min(room/4, skipBatchMax))
		}
	}
	allocated := int64(allocs() - a0)
	t.Logf("%d turns: %d skipped the read, %d reads, %d walks, frac %.4f; the process allocated %d bytes",
		turns, skips, l.reads, l.walks-walks, l.frac, allocated)
	if skips == 0 {
		t.Skip("no turn was short enough to skip the read on this machine")
	}
	// Before, every turn that skipped charged its bound for good: at
	// 16 GB/s × a few µs that is 32 MiB in a few thousand turns, a walk
	// each time. Now the walks are those the process's own allocations
	// (this test's included) bring: one per half limit of them.
	if n, most := l.walks-walks, allocated/(l.limit/2-l.used)+1; n > int(most) {
		t.Errorf("%d walks in %d turns of a script that keeps nothing, in which the process allocated %d bytes: want at most %d",
			n, turns, allocated, most)
	}
}

// TestLimiter_BombOverShortTurnsIsStopped: a script that keeps one small
// object in each of many short turns, made without any builtin that
// charges its result ahead, is stopped with memory_limit once it
// holds its limit, within 10 %, though most of its turns skip the read.
func TestLimiter_BombOverShortTurnsIsStopped(t *testing.T) {
	s, err := Compile("bomb.js", []byte(`
const keep = [];
let n = 0;
export function receive(m) { keep.push({n: n++}); }`))
	if err != nil {
		t.Fatal(err)
	}
	env := mailbox.NewEnvelope([]byte{0xc0}, nil)
	turn := func(i *Isolate) (crash error) {
		i.Receive(env, false, func(o Outcome) { crash = o.Crash })
		return crash
	}
	// What one turn keeps, measured on an isolate with room to spare.
	probe, err := New(s, Config{Name: "probe", Host: acctHost{}, Limits: Limits{CPU: time.Minute, Memory: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	for k := 0; k < 10; k++ {
		if err := turn(probe); err != nil {
			t.Fatal(err)
		}
	}
	base := probe.MemoryUsage()
	for k := 0; k < 200; k++ {
		if err := turn(probe); err != nil {
			t.Fatal(err)
		}
	}
	perTurn := (probe.MemoryUsage() - base) / 200
	if perTurn < 64 {
		t.Fatalf("a turn keeps %d bytes, want at least 64", perTurn)
	}

	const limit = 4 << 20
	i, err := New(s, Config{Name: "bomb", Host: acctHost{}, Limits: Limits{CPU: time.Minute, Memory: limit}})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	l := i.lim
	var crash error
	turns, skips := 0, 0
	for ; turns < int(10*limit/perTurn) && crash == nil; turns++ {
		before := l.reads
		crash = turn(i)
		if l.reads == before && crash == nil {
			skips++
		}
	}
	t.Logf("%d bytes per turn; stopped after %d turns (%d skipped the read, %d walks): %v", perTurn, turns, skips, l.walks, crash)
	if !errors.Is(crash, ErrMemoryLimit) {
		t.Fatalf("after %d turns keeping %d bytes each: crash %v, want %v", turns, perTurn, crash, ErrMemoryLimit)
	}
	if kept := int64(turns-1) * perTurn; kept > limit+limit/10 {
		t.Errorf("stopped only once the script kept about %d bytes, limit %d", kept, limit)
	}
	if skips == 0 {
		t.Log("no turn skipped the read on this machine: only the read path was exercised")
	}
}
