//go:build linux

package isolate

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// threadClock measures the CPU time a turn uses. The turn's goroutine is
// locked to its OS thread for the turn, so the thread's CPU time is the
// turn's: time spent waiting for a CPU, or paused while another goroutine
// runs, is not charged to the script. Reading a thread's CPU clock costs a
// microsecond, so the turn only notes its thread; the watchdog reads the
// clock, from its own goroutine, once a turn has run for a while.
type threadClock struct {
	id int32 // the thread's CPU-time clock, readable from any thread of the process
}

// threadCPUClock is the clock id of thread tid's scheduler CPU time, as
// Linux encodes it (what pthread_getcpuclockid returns): the bitwise
// complement of the tid shifted left by 3, with the per-thread flag (4) and
// the scheduler-clock type (2).
func threadCPUClock(tid int) int32 { return int32(^tid<<3 | 4 | 2) }

// startThreadClock locks the calling goroutine to its thread for the turn.
func startThreadClock() (threadClock, bool) {
	runtime.LockOSThread()
	return threadClock{id: threadCPUClock(unix.Gettid())}, true
}

// read returns the thread's CPU time so far. It may be called from any
// goroutine; ok is false if the clock cannot be read.
func (c threadClock) read() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(c.id, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// stop ends the turn's clock and unlocks the goroutine.
func (c threadClock) stop() { runtime.UnlockOSThread() }
