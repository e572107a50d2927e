//go:build linux

package isolate

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// tidFromRuntime is set once at init if the runtime's note of each
// thread's id (runtimeThreadID) matched gettid on every thread checked;
// otherwise every thread id costs a system call, never a wrong answer.
var tidFromRuntime = runtimeThreadIDBuilt && threadIDsAgree(checkedRuntimeThreadID, 3)

// checkedRuntimeThreadID is runtimeThreadID, or -1 (no thread's id) if the
// g and m the runtime layout points at do not hang together.
func checkedRuntimeThreadID() int {
	if !runtimeThreadShape() {
		return -1
	}
	return runtimeThreadID()
}

// threadID is the calling thread's id. The goroutine must be locked to its
// thread.
func threadID() int {
	if tidFromRuntime {
		return runtimeThreadID()
	}
	return unix.Gettid()
}

// threadIDsAgree runs read on the calling goroutine's thread and on n
// other threads, each held by a locked goroutine until all have read, and
// reports whether read matched gettid on every one.
func threadIDsAgree(read func() int, n int) bool {
	check := func() bool {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return read() == unix.Gettid()
	}
	if !check() {
		return false
	}
	var (
		wg   sync.WaitGroup
		held sync.WaitGroup
		mu   sync.Mutex
		ok   = true
		tids = make(map[int]bool)
	)
	release := make(chan struct{})
	for range n {
		wg.Add(1)
		held.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			good := read() == unix.Gettid()
			mu.Lock()
			ok = ok && good
			tids[unix.Gettid()] = true
			mu.Unlock()
			held.Done()
			<-release // hold the thread, so the others run on their own
		}()
	}
	held.Wait()
	close(release)
	wg.Wait()
	return ok && len(tids) == n
}
