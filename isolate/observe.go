package isolate

import (
	"sync/atomic"
	"time"
)

// observed is what an isolate publishes for operators at the end of each
// turn: numbers its governance has already computed, stored atomically so
// the debug endpoint can read them from any goroutine.
type observed struct {
	cpu     atomic.Int64 // nanoseconds charged to the incarnation's turns
	turnCPU time.Duration
	memory  atomic.Int64 // the limiter's account at the end of the last turn
}

// chargeTurn adds the turn that just ended to the isolate's totals: the
// CPU time its limit charged it (the thread's CPU clock for a turn the
// watchdog read, its wall time up to the first checkpoint for one that
// ended before, wall being 0 where it was not measured) and the memory
// the limiter accounts for it. It runs on the isolate's goroutine.
func (i *Isolate) chargeTurn(wall time.Duration, memory int64) {
	c := i.obs.turnCPU
	i.obs.turnCPU = 0
	if c == 0 {
		c = min(wall, cpuCheckpoint)
	}
	i.obs.cpu.Add(int64(c))
	i.obs.memory.Store(memory)
}

// CPUTime is the CPU time the incarnation's turns have used, as its CPU
// limit counted them. Safe for concurrent use.
func (i *Isolate) CPUTime() time.Duration { return time.Duration(i.obs.cpu.Load()) }

// LastMemory is the memory the incarnation held by the limiter's account
// at the end of its last turn: the last walk of its heap, plus an upper
// bound of what it allocated since, plus what the host holds for it. It
// does not walk the heap. Safe for concurrent use.
func (i *Isolate) LastMemory() int64 { return i.obs.memory.Load() }
