package isolate

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

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
		if !tidFromRuntime {
			if p.known {
				t.Fatal("after rejoin the pin claims a thread the runtime could not name")
			}
			continue
		}
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
