package isolate

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// DefaultMemory is the heap an isolate may hold when no limit is given.
const DefaultMemory = 64 << 20

// minMemory is the smallest memory limit honoured: an isolate with its
// builtins and host API takes a few hundred KiB before the script runs.
const minMemory = 1 << 20

// maxAllocRate bounds how fast one goroutine can allocate while it runs
// JavaScript. A turn that ran for d is charged at most d × maxAllocRate,
// whatever the process-wide counter says, so that other goroutines'
// allocations only bring a measurement forward, never push it back.
// Pure JS allocates at about 0.6 GB/s here; string concatenation copies
// at memory bandwidth, hence the margin.
const maxAllocRate = 16 << 30 // bytes per second

// limitAbort is the panic a native function raises to end a turn that went
// over a limit. goja does not catch a panic of a foreign type: it unwinds
// every JS try/finally without running it, and run turns it back into err.
type limitAbort struct{ err error }

// limiter is an isolate's resource accounting. Everything but expired is
// used only on the isolate's goroutine.
//
// Memory: used is the last measurement of the runtime's reachable heap (see
// heapWalker); pending is an upper bound of what was allocated since; held
// is what the host keeps for the incarnation outside the runtime — parked
// sendAfter messages and the bookkeeping of every timer — charged exactly
// when it is made and refunded when it goes. A turn adds to pending the
// bytes the process allocated while it ran, capped at maxAllocRate × its
// duration, and native functions that build large values (see builtins.go)
// add their result size before they build it. Whenever used + pending +
// held could exceed the limit the heap is measured again, and a
// measurement over the limit ends the turn with ErrMemoryLimit. The
// garbage a turn leaves is never charged: only what stays reachable.
type limiter struct {
	iso     *Isolate
	limit   int64
	used    int64
	pending int64
	held    int64
	shared  map[uintptr]struct{}
	exports []goja.Value // the values the module exports: its handlers and their closures

	start      time.Duration // when the turn began, since procStart
	allocStart uint64
	endS       [1]metrics.Sample // the allocation counter, read at a turn's end

	// expired is set when the turn must end: by the CPU watchdog when its
	// time is up, by Abort; aborted says why. Native functions that run
	// long loops of their own check it.
	expired atomic.Bool
	aborted atomic.Pointer[error]

	// The in-turn probe (see probe). seq, budget and heapStart are written
	// on the isolate's goroutine at the start of a turn and read by the
	// probe, on the watchdog's goroutine.
	seq       atomic.Uint64 // the isolate's turn number the probe belongs to
	budget    atomic.Int64
	heapStart atomic.Uint64
	// epoch is the turns begun in the process when the first probe of the
	// turn took its baseline (heapStart). Only probes use it.
	epoch atomic.Uint64
	// shard is where the isolate's turns are counted (turnShards).
	shard *turnShard

	// Statistics, for tests and the debug endpoint.
	walks    int
	walkTime time.Duration
	lastWalk time.Duration // how long the last walk took; 0 before the first
	reads    int           // turns that read the process's allocation counter

	// The turns that skipped the read since the last read or walk (see
	// skipRead): the bounds they were charged and the counter's value
	// before the first of them began. The next read charges them what the
	// process allocated since instead, if that is less.
	skipped  int64
	skipFrom uint64
	// frac is what the latest read charged as a fraction of the bounds it
	// replaced (1 before the first read); skipRead takes at least minFrac.
	frac float64

	// What a reservation needs to add the running turn's own allocations
	// (see turnAllocs): running is set from begin to end; the counter's
	// value and the time the turn's allocations are counted from (its
	// start, or its latest measurement); what reservations charged since
	// then; and what they charged since the counter was last read here.
	running      bool
	turnFrom     uint64
	turnFromT    time.Duration
	turnReserved int64
	unread       int64
}

// reserveReadEvery is how much a turn reserves between two reads of the
// process's allocation counter by its reservations (turnAllocs): a read
// costs about readCost, and building 256 KiB costs far more.
const reserveReadEvery = 256 << 10

// readCost is about what one read of the process's allocation counter
// costs here (runtime/metrics.Read of one sample).
const readCost = 400 * time.Nanosecond

// skipReadMax bounds the charge a turn takes without reading the counter:
// d × maxAllocRate of a turn shorter than 16 µs.
const skipReadMax = 256 << 10

// skipBatchMax bounds the bounds charged by the turns between two reads.
const skipBatchMax = 1 << 20

// minFrac is the least fraction of its bounds a run of turns is assumed
// to allocate when deciding whether to skip.
const minFrac = 1.0 / 64

// skipRead reports whether a turn that charges c bytes, an upper bound of
// what it can have allocated, should take that charge instead of reading
// the process's counter. The charges of the turns that skip are put right
// at the next read: all of them ran between the counter's value before
// the first began and that read, so the isolate allocated at most the
// difference, and they are charged that if it is less than their bounds.
// The charges not yet put right are at most a quarter of the room left
// below half the limit (and 1 MiB), so they alone never bring a walk.
// Skipping pays when the walk this isolate last needed, spread over the
// turns that real charges (frac of the bounds, as the latest read found)
// let run before the next one, costs less than a read per turn. An
// isolate never walked is assumed small (its heap is the module's); its
// first walk tells.
func (l *limiter) skipRead(c int64) bool {
	if c > skipReadMax {
		return false
	}
	room := l.limit/2 - l.used - l.held
	if room <= 0 || l.skipped+c > min(room/4, skipBatchMax) {
		return false
	}
	return float64(l.lastWalk)*float64(c)*max(l.frac, minFrac) < float64(readCost)*float64(room)
}

// probeEvery is how often a running turn's heap growth is sampled.
const probeEvery = 2 * time.Millisecond

// probeFloor is the least process-wide growth the probe acts on: the
// host's own goroutines (mailboxes, timers, the debug endpoint) allocate
// too, and a small limit must not turn their noise into a crash.
const probeFloor = 8 << 20

// turnShards count the turns begun and ended in the process, each isolate
// on one shard (turnShard), so that turns on different cores do not write
// one cache line; a probe sums them. A probe attributes the process's heap
// growth to its turn only while no other turn has run since it took its
// baseline (see probe).
var (
	turnShards    [numTurnShards]turnShard
	nextTurnShard atomic.Uint32
)

// numTurnShards is how many shards the turn counts are split over: two
// isolates running at once on two cores share one with a chance of
// 1/numTurnShards, and a probe reads them all.
const numTurnShards = 32

// turnShard is one shard of the turn counts, alone on its cache lines
// (two, since a core fetches lines in adjacent pairs). A turn counts its
// end on the shard it counted its beginning on.
type turnShard struct {
	begun atomic.Uint64
	ended atomic.Uint64
	_     [128 - 16]byte
}

// turnCounts reads the turns begun in the process and how many may be
// running: every shard's ended count, then every shard's begun count. A
// turn that ran at any moment between the first read and the last is
// counted as running; one that began and ended in between is counted as
// neither, never as less.
func turnCounts() (begun uint64, running int64) {
	var ended uint64
	for i := range turnShards {
		ended += turnShards[i].ended.Load()
	}
	for i := range turnShards {
		begun += turnShards[i].begun.Load()
	}
	return begun, int64(begun - ended)
}

// turnsBegun is the turns begun in the process so far.
func turnsBegun() uint64 {
	var begun uint64
	for i := range turnShards {
		begun += turnShards[i].begun.Load()
	}
	return begun
}

// lastAllocs is the process's allocation counter as the latest turn to read
// it found it. A turn starts from it instead of reading the runtime's
// metrics again: one read per turn, not two. What was allocated between
// that reading and the turn's start is charged to the turn too, within the
// same maxAllocRate cap, so the estimate stays an upper bound; only the
// reading is shared. at is when it was read, in nanoseconds of the
// monotonic clock since procStart. Turns that take their charge without
// reading (skipRead) leave it to age; a turn that will read at its end
// reads at its start too when it is older than staleAllocs, so that its
// charge is not the other turns' allocations since. Both sit on cache
// lines of their own: every turn reads them, few write them.
var lastAllocs struct {
	_     [128]byte
	count atomic.Uint64
	at    atomic.Int64
	_     [128 - 16]byte
}

var procStart = time.Now()

const staleAllocs = 50 * time.Microsecond

// bind sets the limit and the script whose compiled program every isolate
// of it shares, once the isolate is given to a process.
func (l *limiter) bind(limit int64, prog *goja.Program) {
	l.limit, l.shared = limit, sharedAllocs(prog)
}

func newLimiter(i *Isolate) *limiter {
	l := &limiter{iso: i, frac: 1}
	l.shard = &turnShards[nextTurnShard.Add(1)%numTurnShards]
	l.endS[0].Name = "/gc/heap/allocs:bytes"
	return l
}

// readProcess reads the process's allocation counter and publishes it for
// the next turn to start from;
// now is when it was read, in nanoseconds since procStart.
func (l *limiter) readProcess(now time.Duration) uint64 {
	metrics.Read(l.endS[:])
	allocs := sampleUint(l.endS[0])
	lastAllocs.count.Store(allocs)
	lastAllocs.at.Store(int64(now))
	return allocs
}

// heapObjects reads the bytes of heap objects, live or not yet swept.
func heapObjects() uint64 {
	// A sample of its own each time: probes are rare (every probeEvery of
	// a long turn), and a limiter that kept one would carry its 40 bytes
	// in every idle actor.
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// probe runs every probeEvery while turn seq runs, from the CPU watchdog's
// timer (see Isolate.watchdog), so a turn arms one timer, not two. A turn
// cannot be measured while it runs (the walk is not safe then), so the
// probe looks at the process: if no other turn has run since the turn's
// first probe took the baseline and the heap has grown by more than the
// turn's remaining budget, it forces a collection and, if the growth
// survives it, interrupts the turn with ErrMemoryLimit and reports true.
// When other turns run alongside, growth cannot be attributed and the turn
// is bounded by its CPU limit instead.
//
// The baseline is taken only when this turn is the only one running, the
// counts read before the heap; each later look reads the heap before the
// count of turns begun, which must not have moved. A turn that ran at any
// moment between the baseline and a look either was running when the
// baseline's counts were read, or began after, and is seen either way.
func (l *limiter) probe(seq uint64) bool {
	i := l.iso
	if l.seq.Load() != seq {
		return false
	}
	if l.heapStart.Load() == 0 {
		// The first probe of a turn takes the baseline, so that the turn
		// itself reads no metrics: growth before it is left to the turn's
		// end (and to the builtins' reservations).
		begun, running := turnCounts()
		if running != 1 {
			return false // another turn runs: try again at the next probe
		}
		l.epoch.Store(begun)
		l.heapStart.Store(max(heapObjects(), 1))
		return false
	}
	start, budget := l.heapStart.Load(), max(l.budget.Load(), probeFloor)
	if !l.grown(start, budget) {
		return false
	}
	runtime.GC()
	if !l.grownLive(start, budget) {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.seq != seq {
		return false
	}
	i.rt.Interrupt(ErrMemoryLimit)
	return true
}

// grown reports whether the process's heap objects have grown by more than
// budget bytes since start, with no turn but the probe's begun since its
// baseline: the heap is read first, then the count.
func (l *limiter) grown(start uint64, budget int64) bool {
	grown := int64(heapObjects() - start)
	return grown > budget && turnsBegun() == l.epoch.Load()
}

// grownLive is grown after a collection, by the heap it found live: the
// turn runs on while the probe collects, and what it allocates after the
// collection, garbage or not, is not yet told apart by the heap's count
// of objects. A loop of 28 KB BigInts, all garbage, allocates some 500 MB
// a second, so the 8 MiB floor was crossed by a probe that waited a few
// milliseconds for a CPU between the collection and its look (a false
// memory_limit on a loaded machine).
func (l *limiter) grownLive(start uint64, budget int64) bool {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	grown := int64(sampleUint(s[0]) - start)
	return grown > budget && turnsBegun() == l.epoch.Load()
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

// begin starts a turn's accounting and returns when, since procStart.
func (l *limiter) begin() time.Duration {
	// The flags are cleared only when set: an atomic store costs a full
	// barrier, a load nothing, and they are nearly always clear.
	if l.expired.Load() {
		l.expired.Store(false)
	}
	if l.aborted.Load() != nil {
		l.aborted.Store(nil)
	}
	l.start = time.Since(procStart)
	l.allocStart = lastAllocs.count.Load()
	if l.allocStart == 0 || l.skipped == 0 && !l.skipRead(skipReadMax) &&
		l.start-time.Duration(lastAllocs.at.Load()) > staleAllocs {
		l.allocStart = l.readProcess(l.start)
	}
	l.running, l.turnFrom, l.turnFromT, l.turnReserved, l.unread = true, l.allocStart, l.start, 0, 0
	l.seq.Store(l.iso.seq)
	l.shard.begun.Add(1)
	l.budget.Store(l.limit - l.used - l.pending - l.held)
	if l.heapStart.Load() != 0 {
		l.heapStart.Store(0) // taken by the first probe
	}
	return l.start
}

// end finishes a turn's accounting and returns the turn's error, or
// ErrMemoryLimit if the isolate now holds more than its limit.
func (l *limiter) end(err error) error {
	l.shard.ended.Add(1)
	l.running = false
	if err != nil {
		l.iso.chargeTurn(0, l.used+l.pending+l.held)
		return err
	}
	now := time.Since(procStart)
	d := now - l.start
	defer func() { l.iso.chargeTurn(d, l.used+l.pending+l.held) }()
	bound := int64(d.Seconds() * maxAllocRate)
	if l.skipRead(bound) {
		// A short turn of a small isolate is charged the most it can have
		// allocated, without reading the counter, until the next read
		// puts it right; the heap is walked once that reaches half the
		// limit, so the estimate cannot make the in-turn probe's budget
		// small.
		if l.skipped == 0 || l.allocStart < l.skipFrom {
			l.skipFrom = l.allocStart
		}
		l.skipped += bound
		l.pending += bound
		if l.used+l.pending+l.held > l.limit/2 {
			if l.measure() > l.limit {
				return ErrMemoryLimit
			}
		}
		return nil
	}
	l.reads++
	allocs := l.readProcess(now)
	from, charge := l.allocStart, bound
	if l.skipped > 0 {
		// This turn and those that skipped ran since skipFrom.
		from, charge = min(l.skipFrom, l.allocStart), l.skipped+bound
		l.pending -= l.skipped
		l.skipped = 0
	}
	var a int64
	if allocs > from {
		a = int64(min(allocs-from, uint64(charge)))
	}
	if charge > 0 {
		l.frac = float64(a) / float64(charge)
	}
	l.pending += a
	if l.used+l.pending+l.held > l.limit {
		if l.measure() > l.limit {
			return ErrMemoryLimit
		}
	}
	return nil
}

// measure walks the runtime's heap, resets the estimate and returns what
// the incarnation holds: the walk's bytes and the host's.
func (l *limiter) measure() int64 {
	t := time.Now()
	l.used, _ = l.iso.measureHeap(l.shared)
	l.pending, l.skipped = 0, 0
	l.walks++
	l.lastWalk = time.Since(t)
	l.walkTime += l.lastWalk
	if l.running {
		// The turn's allocations so far are in used now, if they are
		// kept: count from here (after the walk, whose own are not the
		// turn's).
		now := time.Since(procStart)
		l.turnFrom, l.turnFromT, l.turnReserved = l.readProcess(now), now, 0
	}
	return l.used + l.held
}

// over reports whether charging n more bytes could take the incarnation
// over its limit, so that a measurement must decide. Inside a turn the
// estimate lacks what the turn has allocated so far (a turn's allocations
// are added at its end): a turn that built 25 MB of array and then asked
// for a 48 MB string was let through under 64 MiB, and the array was
// garbage again by the end. So once a turn has reserved reserveReadEvery
// bytes since the last look, over adds turnAllocs.
func (l *limiter) over(n int64) bool {
	est := l.used + l.pending + l.held + n
	if est > l.limit {
		return true
	}
	if !l.running {
		return false
	}
	if l.unread += n; l.unread < reserveReadEvery {
		return false
	}
	l.unread = 0
	return est+l.turnAllocs() > l.limit
}

// turnAllocs is an upper bound of what the running turn has allocated
// and pending does not hold: the process's allocations since turnFrom,
// capped at maxAllocRate × the time since (as end does), less what the
// reservations charged to pending in that time.
func (l *limiter) turnAllocs() int64 {
	now := time.Since(procStart)
	allocs := l.readProcess(now)
	if allocs <= l.turnFrom {
		return 0
	}
	a := int64(min(allocs-l.turnFrom, uint64(max((now-l.turnFromT).Seconds()*maxAllocRate, 0))))
	return max(a-l.turnReserved, 0)
}

// reserve is called by a native function on the isolate's goroutine before
// it builds a value of about n bytes. It ends the turn with ErrMemoryLimit
// if the isolate would hold more than its limit.
func (l *limiter) reserve(n int64) {
	if n < 0 || n > l.limit {
		panic(&limitAbort{ErrMemoryLimit})
	}
	if l.over(n) {
		if l.measure()+n > l.limit {
			panic(&limitAbort{ErrMemoryLimit})
		}
	}
	l.pending += n
	l.turnReserved += n
}

// hold charges n bytes that the host keeps for the incarnation (a parked
// message, a timer), on the isolate's goroutine, before it keeps them. It
// ends the turn with ErrMemoryLimit if the incarnation would hold more
// than its limit; release refunds them.
func (l *limiter) hold(n int64) {
	if n < 0 || n > l.limit {
		panic(&limitAbort{ErrMemoryLimit})
	}
	if l.over(n) {
		if l.measure()+n > l.limit {
			panic(&limitAbort{ErrMemoryLimit})
		}
	}
	l.held += n
}

func (l *limiter) release(n int64) { l.held = max(l.held-n, 0) }

// abort marks the running turn for ending with err; the first reason wins.
func (l *limiter) abort(err error) {
	l.aborted.CompareAndSwap(nil, &err)
	l.expired.Store(true)
}

// checkCPU ends the turn with ErrCPULimit (or the reason given to Abort)
// if its time is up. Native functions with long loops call it, since goja
// checks an interrupt only between JS instructions.
func (l *limiter) checkCPU() {
	if l.expired.Load() {
		err := ErrCPULimit
		if e := l.aborted.Load(); e != nil {
			err = *e
		}
		panic(&limitAbort{err})
	}
}

// remaining is how long the current turn may still run.
func (l *limiter) remaining() time.Duration {
	return l.iso.turnTimeLeft()
}

// MemoryUsage measures the memory the isolate holds now, in bytes: every
// allocation reachable from its runtime, its timers' callbacks and its
// pending promises, less what it shares with other isolates of the same
// script, plus what the host holds for it (parked sendAfter messages,
// timers). It walks the heap (about 1 µs per JS
// object), so it is meant for tests, benchmarks and the debug endpoint.
// Like every method, it must not be called concurrently with a turn.
func (i *Isolate) MemoryUsage() int64 {
	if i.lim == nil {
		return 0
	}
	return i.lim.measure()
}

// limitError maps a limitAbort panic recovered by protect to its error.
func limitError(err error) (error, bool) {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if v, ok := ie.Value().(error); ok && errors.Is(v, ErrMemoryLimit) {
			return ErrMemoryLimit, true
		}
		return nil, false
	}
	var pe *PanicError
	if !errors.As(err, &pe) {
		return nil, false
	}
	a, ok := pe.Value.(*limitAbort)
	if !ok {
		return nil, false
	}
	return a.err, true
}
