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
// heapWalker); pending is an upper bound of what was allocated since. A
// turn adds to pending the bytes the process allocated while it ran,
// capped at maxAllocRate × its duration, and native functions that build
// large values (see builtins.go) add their result size before they build
// it. Whenever used + pending could exceed the limit the heap is measured
// again, and a measurement over the limit ends the turn with ErrMemoryLimit.
// The garbage a turn leaves is never charged: only what stays reachable.
type limiter struct {
	iso     *Isolate
	limit   int64
	used    int64
	pending int64
	shared  map[uintptr]struct{}
	exports goja.Value // the module's exports: its handlers and their closures

	start      time.Time
	allocStart uint64
	sample     [1]metrics.Sample
	startS     [2]metrics.Sample // allocations and heap objects, read together at a turn's start

	// expired is set by the CPU watchdog when the turn's time is up, for
	// native functions that run long loops of their own.
	expired atomic.Bool

	// The in-turn probe (see probe). budget and heapStart are written on
	// the isolate's goroutine at the start of a turn and read by the probe.
	seq       atomic.Uint64 // the isolate's turn number the probe belongs to
	epoch     atomic.Uint64
	budget    atomic.Int64
	heapStart atomic.Uint64
	probeT    *time.Timer
	probeS    [1]metrics.Sample

	// Statistics, for tests and the debug endpoint.
	walks    int
	walkTime time.Duration
}

// probeEvery is how often a running turn's heap growth is sampled.
const probeEvery = 2 * time.Millisecond

// probeFloor is the least process-wide growth the probe acts on: the
// host's own goroutines (mailboxes, timers, the debug endpoint) allocate
// too, and a small limit must not turn their noise into a crash.
const probeFloor = 8 << 20

// runningTurns counts turns running in the process; turnEpoch counts turns
// started. A probe attributes the process's heap growth to its turn only
// while that turn has been the only one since it began.
var (
	runningTurns atomic.Int32
	turnEpoch    atomic.Uint64
)

// bind sets the limit and the script whose compiled program every isolate
// of it shares, once the isolate is given to a process.
func (l *limiter) bind(limit int64, prog *goja.Program) {
	l.limit, l.shared = limit, sharedAllocs(prog)
}

func newLimiter(i *Isolate) *limiter {
	l := &limiter{iso: i}
	l.sample[0].Name = "/gc/heap/allocs:bytes"
	l.probeS[0].Name = "/memory/classes/heap/objects:bytes"
	l.startS[0].Name, l.startS[1].Name = l.sample[0].Name, l.probeS[0].Name
	l.probeT = time.AfterFunc(time.Hour, l.probe)
	l.probeT.Stop()
	return l
}

// heapObjects reads the bytes of heap objects, live or not yet swept,
// into s[0], which names that metric.
func heapObjects(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// probe runs every probeEvery while a turn runs, on a timer goroutine. A
// turn cannot be measured while it runs (the walk is not safe then), so the
// probe looks at the process: if no other turn has run since this one
// began and the heap has grown by more than the turn's remaining budget, it
// forces a collection and, if the growth survives it, interrupts the turn
// with ErrMemoryLimit. When other turns run alongside, growth cannot be
// attributed and the turn is bounded by its CPU limit instead.
func (l *limiter) probe() {
	i := l.iso
	i.mu.Lock()
	seq := l.seq.Load()
	current := i.seq == seq
	i.mu.Unlock()
	if !current {
		return
	}
	alone := runningTurns.Load() == 1 && turnEpoch.Load() == l.epoch.Load()
	if alone {
		start, budget := l.heapStart.Load(), max(l.budget.Load(), probeFloor)
		if grown := int64(heapObjects(l.probeS[:]) - start); grown > budget {
			runtime.GC()
			if grown = int64(heapObjects(l.probeS[:]) - start); grown > budget {
				i.mu.Lock()
				if i.seq == seq {
					i.rt.Interrupt(ErrMemoryLimit)
				}
				i.mu.Unlock()
				return
			}
		}
	}
	i.mu.Lock()
	if i.seq == seq {
		l.probeT.Reset(probeEvery)
	}
	i.mu.Unlock()
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

func (l *limiter) allocated() uint64 {
	metrics.Read(l.sample[:])
	if l.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return l.sample[0].Value.Uint64()
}

// begin starts a turn's accounting.
func (l *limiter) begin() {
	l.expired.Store(false)
	l.start = time.Now()
	// One read for both: each read aggregates the runtime's heap
	// statistics, which is most of its cost.
	metrics.Read(l.startS[:])
	l.allocStart = sampleUint(l.startS[0])
	l.seq.Store(l.iso.seq)
	l.epoch.Store(turnEpoch.Add(1))
	runningTurns.Add(1)
	l.budget.Store(l.limit - l.used - l.pending)
	l.heapStart.Store(sampleUint(l.startS[1]))
	l.probeT.Reset(probeEvery)
}

// end finishes a turn's accounting and returns the turn's error, or
// ErrMemoryLimit if the isolate now holds more than its limit.
func (l *limiter) end(err error) error {
	l.probeT.Stop()
	runningTurns.Add(-1)
	if err != nil {
		return err
	}
	d := time.Since(l.start)
	a := int64(l.allocated() - l.allocStart)
	if bound := int64(d.Seconds() * maxAllocRate); a > bound {
		a = bound
	}
	l.pending += max(a, 0)
	if l.used+l.pending > l.limit {
		if l.measure() > l.limit {
			return ErrMemoryLimit
		}
	}
	return nil
}

// measure walks the runtime's heap and resets the estimate.
func (l *limiter) measure() int64 {
	t := time.Now()
	l.used, _ = l.iso.measureHeap(l.shared)
	l.pending = 0
	l.walks++
	l.walkTime += time.Since(t)
	return l.used
}

// reserve is called by a native function on the isolate's goroutine before
// it builds a value of about n bytes. It ends the turn with ErrMemoryLimit
// if the isolate would hold more than its limit.
func (l *limiter) reserve(n int64) {
	if n < 0 || n > l.limit {
		panic(&limitAbort{ErrMemoryLimit})
	}
	if l.used+l.pending+n > l.limit {
		if l.measure()+n > l.limit {
			panic(&limitAbort{ErrMemoryLimit})
		}
	}
	l.pending += n
}

// checkCPU ends the turn with ErrCPULimit if its time is up. Native
// functions with long loops call it, since goja checks an interrupt only
// between JS instructions.
func (l *limiter) checkCPU() {
	if l.expired.Load() {
		panic(&limitAbort{ErrCPULimit})
	}
}

// remaining is how long the current turn may still run.
func (l *limiter) remaining() time.Duration {
	return l.iso.turnTimeLeft()
}

// MemoryUsage measures the heap the isolate holds now, in bytes: every
// allocation reachable from its runtime, less what it shares with other
// isolates of the same script. It walks the heap (about 1 µs per JS
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
	pe, ok := err.(*PanicError)
	if !ok {
		return nil, false
	}
	a, ok := pe.Value.(*limitAbort)
	if !ok {
		return nil, false
	}
	return a.err, true
}
