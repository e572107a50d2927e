package isolate

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRuntimeTID: the thread id read from the Go runtime's m is the
// kernel's, on many threads at once. If this fails, the runtime's m
// moved: update runtimeM (the pin then falls back to asking the kernel,
// one system call per committed turn).
func TestRuntimeTID(t *testing.T) {
	if !checkTIDOnce(t) {
		t.Fatalf("runtimeM.procid is not the thread id on %s: the Go runtime's m layout moved; update runtimeM", runtime.Version())
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range 100 {
				got, ok := runtimeTID()
				if want := unix.Gettid(); !ok || got != want {
					errs <- "runtimeTID gave a wrong id"
					return
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func checkTIDOnce(t *testing.T) bool {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, ok := runtimeTID()
	return ok && checkTID()
}

// TestPin_RejoinKnowsItsThread: after a commit's wait, the pin names the
// thread it now runs on, with no clock reading kept from before.
func TestPin_RejoinKnowsItsThread(t *testing.T) {
	p := PinThread()
	defer p.Unpin()
	p.base = 1
	for range 50 {
		p.leave()
		runtime.Gosched() // may move to another thread
		p.rejoin()
		if !p.known || p.clock.id != threadCPUClock(unix.Gettid()) {
			t.Fatalf("after rejoin the pin knows %v, clock %d; the thread's clock is %d", p.known, p.clock.id, threadCPUClock(unix.Gettid()))
		}
		if p.base != 0 || !p.baseAt.IsZero() {
			t.Fatal("after rejoin the pin kept a clock reading from before the wait")
		}
		if _, ok := p.clock.read(); !ok {
			t.Fatal("the pin's clock cannot be read")
		}
	}
}
