package isolate

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
)

type nopHost struct{}

func (nopHost) Send(*capability.Capability, *mailbox.Envelope) error { return nil }
func (nopHost) Call(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (nopHost) SendAfter(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (nopHost) StartTimer(time.Duration) (uint64, error) { return 1, nil }
func (nopHost) CancelTimer(uint64) bool                  { return true }
func (nopHost) Stop(string)                              {}
func (nopHost) Log(slog.Level, string)                   {}

type selfTarget struct{}

func (selfTarget) TargetID() uint64 { return 1 }

func watchdogIsolate(t *testing.T, src string, lim Limits) *Isolate {
	t.Helper()
	s, err := Compile("t.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "t", Self: capability.New(selfTarget{}, capability.All), Limits: lim, Host: nopHost{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}

// The watchdog's turn bookkeeping is reset on every path: after turns that
// throw, are interrupted, panic in the host, or fail in pre, the next turn
// is armed on the reusable timer and clocked again (not treated as nested).
func TestWatchdog_DisarmedOnEveryPath(t *testing.T) {
	i := watchdogIsolate(t, `export function receive(m) { if (m === "throw") throw new Error("x"); if (m === "loop") for(;;){} return 1 }`, Limits{CPU: 20 * time.Millisecond})
	check := func(when string) {
		t.Helper()
		i.mu.Lock()
		armed := i.armed
		i.mu.Unlock()
		if armed != 0 {
			t.Fatalf("after %s: the watchdog is still armed for turn %d", when, armed)
		}
	}
	for m, want := range map[string]func(Outcome) bool{
		"ok":    func(o Outcome) bool { return o.Crash == nil && o.Reply != nil },
		"throw": func(o Outcome) bool { var je *JSError; return errors.As(o.Crash, &je) },
		"loop":  func(o Outcome) bool { return errors.Is(o.Crash, ErrCPULimit) },
	} {
		var out Outcome
		ran := false
		i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue(m), nil }, true, func(o Outcome) { out, ran = o, true })
		if !ran || !want(out) {
			t.Fatalf("turn %q: ran=%v crash=%v reply=%v", m, ran, out.Crash, out.Reply)
		}
		check(m)
	}
	for name, pre := range map[string]func() (goja.Value, error){
		"a failed pre":    func() (goja.Value, error) { return nil, errors.New("decode failed") },
		"a panicking pre": func() (goja.Value, error) { panic("decode panicked") },
	} {
		var out Outcome
		i.startTurnWith(i.receive, pre, false, func(o Outcome) { out = o })
		if out.Crash == nil {
			t.Fatalf("after %s: the turn did not fail", name)
		}
		check(name)
	}
	if err := i.run(func() error { panic("host bug") }); err == nil {
		t.Fatal("a host panic was not reported")
	}
	check("a host panic")
	// A CPU-bound turn is still interrupted near its limit, counted in
	// the CPU time of the thread that ran it (the turn runs on this
	// goroutine, locked to its thread while the clock is read).
	clock, clocked := startThreadClock()
	defer clock.stop()
	before, _ := clock.read()
	var out Outcome
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue("loop"), nil }, false, func(o Outcome) { out = o })
	after, _ := clock.read()
	if !errors.Is(out.Crash, ErrCPULimit) {
		t.Fatalf("loop after the other paths: crash = %v, want %v", out.Crash, ErrCPULimit)
	}
	if used := after - before; clocked && used > time.Second {
		t.Fatalf("a loop under a 20ms CPU limit used %v of CPU before it was interrupted", used)
	}
}
