package isolate

import "testing"

// The clock id matches Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)
// (glibc pthread_getcpuclockid): ((~tid) << 3) | CPUCLOCK_PERTHREAD_MASK(4) | 2.
func TestWatchdog_ThreadClockEncoding(t *testing.T) {
	for _, tid := range []int{1, 2, 1000, 4194304} {
		want := int32((^int32(tid))<<3 | 4 | 2)
		if got := threadCPUClock(tid); got != want {
			t.Errorf("tid %d: %d, want %d", tid, got, want)
		}
	}
	c, ok := startThreadClock()
	defer c.stop()
	a, ok1 := c.read()
	x := 0
	for k := 0; k < 1e7; k++ {
		x += k
	}
	b, ok2 := c.read()
	if !ok || !ok1 || !ok2 || b <= a || x != 1e7*(1e7-1)/2 {
		t.Fatalf("thread clock: %v %v (%v %v %v)", a, b, ok, ok1, ok2)
	}
}
