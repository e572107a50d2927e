package isolate

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"unsafe"
)

// The in-turn probe attributes the process's heap growth to its turn only
// if no other turn ran since its baseline: it takes no baseline while
// another turn runs, and a turn that begins and ends after the baseline,
// however short, keeps it from attributing anything until the next
// baseline. Turns are counted process-wide; this test's are the only ones
// running (the package's tests are not parallel).
func TestProbe_AttributesGrowthOnlyToATurnThatRanAlone(t *testing.T) {
	const src = `export function receive() {}`
	a := acctIsolate(t, src, Limits{})
	b := acctIsolate(t, src, Limits{})
	la, lb := a.lim, b.lim
	if la.shard == lb.shard {
		t.Fatal("two isolates made one after the other count their turns on one shard")
	}
	// probe looks at the isolate's turn number, which runAfter moves.
	a.seq++
	la.begin()
	seq := la.seq.Load()

	lb.begin()
	if la.probe(seq); la.heapStart.Load() != 0 {
		t.Fatal("the probe took a baseline while another turn was running")
	}
	_ = lb.end(nil)
	if la.probe(seq); la.heapStart.Load() == 0 {
		t.Fatal("the probe took no baseline with its turn running alone")
	}
	start := la.heapStart.Load()
	if !la.grown(start, math.MinInt64) {
		t.Fatal("growth was not attributed to a turn that has run alone since its baseline")
	}

	lb.begin()
	_ = lb.end(nil)
	if la.grown(start, math.MinInt64) {
		t.Fatal("growth was attributed to a turn although another turn ran after its baseline")
	}
	_ = la.end(nil)

	// The next turn starts over: a new baseline, taken alone, attributes.
	a.seq++
	la.begin()
	seq = la.seq.Load()
	if la.heapStart.Load() != 0 {
		t.Fatal("a turn began with the previous turn's baseline")
	}
	la.probe(seq)
	if start := la.heapStart.Load(); start == 0 || !la.grown(start, math.MinInt64) {
		t.Fatal("a turn running alone after a neighbour's short turn has no baseline to attribute growth to")
	}
	_ = la.end(nil)
	if _, running := turnCounts(); running != 0 {
		t.Fatalf("%d turns counted as running after all ended, want 0", running)
	}
}

// Each shard of the turn counts, and the shared allocation reading, fill
// whole pairs of cache lines, so that turns on two cores writing their
// own shard, or reading the reading, do not write a line another reads.
func TestTurnShards_FillCacheLinePairs(t *testing.T) {
	if got := unsafe.Sizeof(turnShard{}); got != 128 {
		t.Fatalf("a turn shard takes %d bytes, want 128", got)
	}
	if off := unsafe.Offsetof(lastAllocs.count); off < 128 {
		t.Fatalf("lastAllocs.count sits %d bytes into its padded struct, want 128 or more", off)
	}
	if rest := unsafe.Sizeof(lastAllocs) - unsafe.Offsetof(lastAllocs.at) - 8; rest < 128-16 {
		t.Fatalf("lastAllocs.at is followed by %d bytes of padding, want at least %d", rest, 128-16)
	}
}

// What a turn allocates after the probe's collection is not growth until
// a collection finds it live: a loop making garbage at hundreds of MB a
// second crossed the probe's floor while the probe waited for a CPU
// between its collection and its look.
func TestProbe_GarbageMadeAfterTheCollectionIsNotGrowth(t *testing.T) {
	a := acctIsolate(t, `export function receive() {}`, Limits{})
	l := a.lim
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection but the test's
	runtime.GC()                                     // the baseline holds no garbage
	a.seq++
	l.begin()
	defer func() { _ = l.end(nil) }()
	l.probe(l.seq.Load())
	start := l.heapStart.Load()
	if start == 0 {
		t.Fatal("the probe took no baseline with its turn running alone")
	}
	for range 64 {
		garbageSink = make([]byte, 1<<20)
	}
	garbageSink = nil
	if !l.grown(start, 32<<20) {
		t.Fatal("64 MiB allocated uncollected did not show in the heap's count of objects")
	}
	if l.grownLive(start, 32<<20) {
		t.Fatal("64 MiB of garbage made after the collection counted as the turn's growth")
	}
	kept := make([][]byte, 64)
	for k := range kept {
		kept[k] = make([]byte, 1<<20)
	}
	runtime.GC()
	if !l.grownLive(start, 32<<20) {
		t.Fatal("64 MiB kept through a collection did not count as growth")
	}
	runtime.KeepAlive(kept)
}

var garbageSink []byte
