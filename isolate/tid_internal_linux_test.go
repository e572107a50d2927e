//go:build linux

package isolate

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// threadID names the calling thread, as gettid does, on every thread.
func TestThreadID_MatchesGettid(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range 100 {
				if got, want := threadID(), unix.Gettid(); got != want {
					errs <- "threadID disagrees with gettid"
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

// The start-up check refuses a reader that is wrong anywhere: always, or
// on every thread but the one that made it.
func TestThreadID_CheckRefusesAWrongReader(t *testing.T) {
	if threadIDsAgree(func() int { return -1 }, 3) {
		t.Error("a reader that never names the thread passed")
	}
	runtime.LockOSThread()
	here := unix.Gettid()
	runtime.UnlockOSThread()
	if threadIDsAgree(func() int { return here }, 3) {
		t.Error("a reader that names one thread only passed")
	}
	if !threadIDsAgree(unix.Gettid, 3) {
		t.Error("gettid itself failed the check")
	}
}
