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
// runs on now: the pin forgets its thread and its clock reading, and the
// next turn learns them anew.
func (p *Pin) rejoin() {
	runtime.LockOSThread()
	p.known, p.base, p.baseAt = false, 0, time.Time{}
}
