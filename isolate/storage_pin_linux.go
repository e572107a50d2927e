//go:build linux

package isolate

import (
	"runtime"
	"time"
)

// leave unlocks a pinned goroutine from its thread while it waits for a
// storage commit. A goroutine locked to its thread cannot block without
// its thread handing the CPU to another thread and being woken back by
// one, a pair of thread switches per commit; unlocked, it parks as any
// goroutine does and its thread runs the others meanwhile.
func (p *Pin) leave() { runtime.UnlockOSThread() }

// rejoin locks the goroutine again after leave, to whichever thread it
// runs on now. The pin forgets its clock reading (the thread, its old one
// or not, ran other goroutines meanwhile) and takes the thread's id from
// the Go runtime when that is known to be right (tid_linux.go), instead of
// asking the kernel at the next turn: a system call saved per committed
// turn. Otherwise the next turn asks, as it did before.
func (p *Pin) rejoin() {
	runtime.LockOSThread()
	p.base, p.baseAt = 0, time.Time{}
	if tidFromRuntime {
		p.clock, p.known = threadClock{id: threadCPUClock(runtimeThreadID())}, true
	} else {
		p.known = false
	}
}
