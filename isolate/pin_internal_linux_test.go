package isolate

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/mailbox"

	"golang.org/x/sys/unix"
)

func pinThreadCPU(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// TestPin_TurnsShareAStartReadingAndAreStillStopped: under a pin, an
// isolate that reads its clock at every turn's start reads it once for
// turns that follow closely, and a turn that runs to its limit is still
// stopped there: not later, and not earlier by more than pinFresh.
func TestPin_TurnsShareAStartReadingAndAreStillStopped(t *testing.T) {
	s, err := Compile("pin.js", []byte(`export function receive(m) { if (m) for (;;) {} return 1; }`))
	if err != nil {
		t.Fatal(err)
	}
	const limit = 50 * time.Millisecond
	i, err := New(s, Config{Name: "pin", Host: acctHost{}, Limits: Limits{CPU: limit}})
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	i.longTurns.Store(true) // as after a long turn: turns are clocked from their start
	pin := PinThread()
	defer pin.Unpin()
	i.UsePin(pin)
	run := func(loop bool) Outcome {
		var out *Outcome
		msg := []byte{0xc2} // false
		if loop {
			msg = []byte{0xc3} // true
		}
		i.Receive(mailbox.NewEnvelope(msg, nil), false, func(o Outcome) { out = &o })
		if out == nil {
			t.Fatal("turn did not end")
		}
		return *out
	}
	if o := run(false); o.Crash != nil {
		t.Fatal(o.Crash)
	}
	if pin.base == 0 {
		t.Fatal("the first turn under the pin did not read the clock")
	}
	base, at := pin.base, pin.baseAt
	for k := 0; k < 20 && time.Since(at) < pinFresh/2; k++ {
		if o := run(false); o.Crash != nil {
			t.Fatal(o.Crash)
		}
		if time.Since(at) < pinFresh/2 && (pin.base != base || pin.baseAt != at) {
			t.Fatalf("turn %d read the clock again %v after the pin's reading", k, time.Since(at))
		}
	}
	loop := func() (Outcome, time.Duration) {
		before := pinThreadCPU(t)
		o := run(true)
		return o, pinThreadCPU(t) - before
	}
	o, used := loop()
	for try := 1; used > limit+5*time.Millisecond && try < 5; try++ {
		// The watchdog's goroutine can wait for a CPU on a saturated
		// machine (a full parallel test run overran once in a few runs,
		// before and after the change it was seen with); a turn that
		// overruns five times in a row is not that.
		t.Logf("loop stopped after %v of CPU; again", used)
		o, used = loop()
	}
	if !errors.Is(o.Crash, ErrCPULimit) {
		t.Fatalf("the loop ended with %v, want the CPU limit", o.Crash)
	}
	t.Logf("loop stopped after %v of CPU (limit %v)", used, limit)
	if used < limit-pinFresh-time.Millisecond || used > limit+5*time.Millisecond {
		t.Errorf("loop stopped after %v of CPU; the limit is %v", used, limit)
	}
}
