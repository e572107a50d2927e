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
	return threadClock{id: threadCPUClock(threadID())}, true
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

// Pin is a goroutine locked to its OS thread for a run of turns: the
// turns of one process that its mailbox runs back to back (actor's
// dispatcher pins each run). Turns run under a pin learn their thread
// without a system call, and the CPU clock read for one turn's start
// serves the turns that follow it closely (see Isolate.armWatchdog). A Pin
// belongs to the goroutine that made it and is used only there.
type Pin struct {
	clock  threadClock
	known  bool          // clock names the thread (asked at the first turn)
	base   time.Duration // the clock's last reading, 0 if none
	baseAt time.Time     // when it was taken
}

// PinThread locks the calling goroutine to its thread until Unpin.
func PinThread() *Pin {
	runtime.LockOSThread()
	return &Pin{}
}

// Unpin unlocks the goroutine. The pin must not be used after.
func (p *Pin) Unpin() { runtime.UnlockOSThread() }

// Follow locks the goroutine once more and returns a pin for the next run
// on p's thread, another process's: it knows the thread if p does, and has
// no clock reading, which serves only the process it was read for. p is
// still to be unpinned.
func (p *Pin) Follow() *Pin {
	runtime.LockOSThread()
	return &Pin{clock: p.clock, known: p.known}
}

// turnClock is startThreadClock under a pin: the goroutine is locked once
// more for the turn (stop unlocks it) and the thread is the pin's.
func (p *Pin) turnClock() (threadClock, bool) {
	runtime.LockOSThread()
	if !p.known {
		p.clock, p.known = threadClock{id: threadCPUClock(threadID())}, true
	}
	return p.clock, true
}
