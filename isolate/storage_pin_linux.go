//go:build linux

package isolate

import (
	"runtime"
	"sync"
	"time"
	_ "unsafe" // go:linkname

	"golang.org/x/sys/unix"
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
// the Go runtime, which knows it, instead of asking the kernel at the next
// turn: a system call saved per committed turn. Where that cannot be read
// (runtimeTID), the next turn asks, as it did before.
func (p *Pin) rejoin() {
	runtime.LockOSThread()
	p.base, p.baseAt = 0, time.Time{}
	if tid, ok := runtimeTID(); ok {
		p.clock, p.known = threadClock{id: threadCPUClock(tid)}, true
	} else {
		p.known = false
	}
}

// runtimeM mirrors the head of the Go runtime's m (one per OS thread), up
// to procid, the thread's id as gettid returns it, which the runtime sets
// when the thread starts (minit). The layout is the runtime's private one
// (runtime2.go, Go 1.26): g0, morebuf (a gobuf: sp, pc, g, ctxt, lr, bp),
// divmod, procid. tidCheck makes sure it still holds before it is used,
// and TestRuntimeTID fails if it moved.
type runtimeM struct {
	g0      uintptr
	morebuf [6]uintptr
	divmod  uint32
	procid  uint64
}

// getm returns the calling goroutine's m. The runtime exports it for
// linkname (go.dev/issue/67401) as returning a uintptr; it is declared
// here as the pointer it is.
//
//go:linkname getm runtime.getm
func getm() *runtimeM

// tidCheck is the one-time check that runtimeM.procid is the thread's id.
var tidCheck struct {
	once sync.Once
	ok   bool
}

// runtimeTID returns the id of the calling goroutine's thread, which must
// be locked to it, as the runtime keeps it: no system call. ok is false
// when the runtime's layout did not pass the check.
func runtimeTID() (int, bool) {
	tidCheck.once.Do(func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tidCheck.ok = checkTID()
	})
	if !tidCheck.ok {
		return 0, false
	}
	id := getm().procid
	return int(id), id != 0
}

// checkTID compares, on a few threads, the id read from the runtime with
// the kernel's answer; the caller's goroutine must be locked to its thread.
func checkTID() bool {
	if id := getm().procid; id == 0 || id != uint64(unix.Gettid()) {
		return false
	}
	// Once more on another thread (the caller's is locked to it, waiting),
	// whose id is not the process's.
	ok := make(chan bool)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		id := getm().procid
		ok <- id != 0 && id == uint64(unix.Gettid())
	}()
	return <-ok
}
