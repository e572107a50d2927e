package isolate

import (
	"errors"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
)

type reviewHost struct{}

func (reviewHost) Send(*capability.Capability, *mailbox.Envelope) error { return nil }
func (reviewHost) Call(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (reviewHost) SendAfter(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (reviewHost) StartTimer(time.Duration) (uint64, error) { return 1, nil }
func (reviewHost) CancelTimer(uint64) bool                  { return true }
func (reviewHost) Stop(string)                              {}
func (reviewHost) Log(slog.Level, string)                   {}

type reviewTarget struct{}

func (reviewTarget) TargetID() uint64 { return 1 }

func reviewIsolate(t *testing.T, src string, lim Limits) *Isolate {
	t.Helper()
	s, err := Compile("t.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "t", Self: capability.New(reviewTarget{}, capability.All), Limits: lim, Host: reviewHost{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}

// The watchdog's turn bookkeeping is reset on every path: after turns that
// throw, are interrupted, panic in the host, or fail in pre, the next turn
// is armed on the reusable timer and clocked again (not treated as nested).
func TestReviewCPU_WatchdogDisarmedOnEveryPath(t *testing.T) {
	i := reviewIsolate(t, `export function receive(m) { if (m === "throw") throw new Error("x"); if (m === "loop") for(;;){} return 1 }`, Limits{CPU: 20 * time.Millisecond})
	check := func(when string) {
		t.Helper()
		i.mu.Lock()
		armed := i.armed
		i.mu.Unlock()
		if armed != 0 {
			t.Fatalf("after %s: the watchdog is still armed for turn %d", when, armed)
		}
	}
	for _, m := range []string{"ok", "throw", "loop"} {
		var out Outcome
		i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue(m), nil }, false, func(o Outcome) { out = o })
		_ = out
		check(m)
	}
	i.startTurnWith(i.receive, func() (goja.Value, error) { return nil, errors.New("decode failed") }, false, func(Outcome) {})
	check("a failed pre")
	i.startTurnWith(i.receive, func() (goja.Value, error) { panic("decode panicked") }, false, func(Outcome) {})
	check("a panicking pre")
	_ = i.run(func() error { panic("host bug") })
	check("a host panic")
	// A CPU-bound turn is still interrupted near its limit.
	start := time.Now()
	var out Outcome
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue("loop"), nil }, false, func(o Outcome) { out = o })
	if !errors.Is(out.Crash, ErrCPULimit) || time.Since(start) > time.Second {
		t.Fatalf("loop: %v after %v", out.Crash, time.Since(start))
	}
}

// The clock id matches Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)
// (glibc pthread_getcpuclockid): ((~tid) << 3) | CPUCLOCK_PERTHREAD_MASK(4) | 2.
func TestReviewCPU_ThreadClockEncoding(t *testing.T) {
	for _, tid := range []int{1, 2, 1000, 4194304} {
		want := int32((^int32(tid))<<3 | 4 | 2)
		if got := threadCPUClock(tid); got != want {
			t.Errorf("tid %d: %d, want %d", tid, got, want)
		}
	}
	if runtime.GOOS == "linux" {
		c, ok := startThreadClock()
		defer c.stop()
		a, ok1 := c.read()
		x := 0
		for k := 0; k < 1e7; k++ {
			x += k
		}
		_ = x
		b, ok2 := c.read()
		if !ok || !ok1 || !ok2 || b <= a {
			t.Fatalf("thread clock: %v %v (%v %v %v)", a, b, ok, ok1, ok2)
		}
	}
}
