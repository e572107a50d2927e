package isolate

import (
	"errors"
	"log/slog"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// stallHost is a host whose console.log stands for a stall the turn does
// not cause: it takes the watchdog's timer away for the length of the
// stall, as a loaded process delays it, blocks without using CPU, and then
// lets the watchdog make its (late) first check.
type stallHost struct {
	nopHost
	i     *Isolate
	stall time.Duration
}

func (h *stallHost) Log(slog.Level, string) {
	h.i.watch.Stop() // the timer is late: the process is busy elsewhere
	<-time.After(h.stall)
	h.i.watchdog() // its first check, long after the turn began
}

// A turn is charged its own CPU time, never the wall time it spent waiting:
// a watchdog whose first check comes long after the turn began (its timer
// delayed by a neighbour's stall) does not end a turn that used little CPU.
func TestAcctCPU_LateFirstCheckChargesOnlyTheTurn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the CPU-time clock is read on Linux only")
	}
	const limit = 20 * time.Millisecond
	i := watchdogIsolate(t, `export function receive(m) { console.log("stall"); let x = 0; for (let k = 0; k < 1000; k++) x += k; return x; }`, Limits{CPU: limit})
	h := &stallHost{i: i, stall: 3 * limit}
	i.cfg.Host = h
	for k := 0; k < 3; k++ {
		var out Outcome
		i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue(1), nil }, false, func(o Outcome) { out = o })
		if out.Crash != nil {
			t.Fatalf("turn %d: %v after a stall of %v that used no CPU (limit %v)", k, out.Crash, h.stall, limit)
		}
	}
}

// Abort ends a running turn whatever it is doing, with the reason given,
// and a turn that is not running is left alone.
func TestAcctAbort_EndsARunningTurn(t *testing.T) {
	i := watchdogIsolate(t, `export function receive(m) { if (m === "loop") for (;;) {} return 1 }`, Limits{CPU: time.Hour})
	var out Outcome
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue(1), nil }, false, func(o Outcome) { out = o })
	if out.Crash != nil {
		t.Fatalf("a turn before Abort: %v", out.Crash)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			i.mu.Lock()
			running := i.armed != 0
			i.mu.Unlock()
			if running {
				i.Abort(ErrKilled)
				return
			}
			runtime.Gosched()
		}
	}()
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue("loop"), nil }, false, func(o Outcome) { out = o })
	<-done
	if !errors.Is(out.Crash, ErrKilled) {
		t.Fatalf("aborted turn: %v, want %v", out.Crash, ErrKilled)
	}
	// The incarnation is doomed: a later turn ends as it starts.
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue(1), nil }, false, func(o Outcome) { out = o })
	if !errors.Is(out.Crash, ErrKilled) {
		t.Fatalf("the turn after an aborted one: %v, want %v", out.Crash, ErrKilled)
	}
}

// Abort between turns is not lost: the next turn ends as it starts.
func TestAcctAbort_BetweenTurns(t *testing.T) {
	i := watchdogIsolate(t, `export function receive(m) { for (;;) {} }`, Limits{CPU: time.Hour})
	if i.Abort(ErrKilled) {
		t.Fatal("Abort reported a turn while none ran")
	}
	var out Outcome
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue(1), nil }, false, func(o Outcome) { out = o })
	if !errors.Is(out.Crash, ErrKilled) {
		t.Fatalf("a turn after Abort: %v, want %v", out.Crash, ErrKilled)
	}
}

// A guarded builtin that checks the limit in its own loop stops for Abort
// with Abort's reason.
func TestAcctAbort_NativeLoopsSeeTheReason(t *testing.T) {
	i := watchdogIsolate(t, `export function receive() { return 1 }`, Limits{CPU: time.Hour})
	err := i.run(func() error {
		i.Abort(ErrKilled)
		i.lim.checkCPU()
		return nil
	})
	if !errors.Is(err, ErrKilled) {
		t.Fatalf("checkCPU after Abort: %v, want %v", err, ErrKilled)
	}
}

// The walk enters JS callbacks that goja keeps as method values through
// its private structures: if an upgrade of goja moves them, this fails.
func TestAcctMemory_ClosureCodesFound(t *testing.T) {
	jsCallbacks.once.Do(learnCallbacks)
	if len(jsCallbacks.codes) < 3 || jsCallbacks.recv == nil {
		t.Fatalf("learnt %d callback code pointers (receiver %v): goja's promise reactions or function objects changed shape",
			len(jsCallbacks.codes), jsCallbacks.recv)
	}
	for _, f := range []string{"stash", "prg"} {
		if _, ok := jsCallbacks.recv.FieldByName(f); !ok {
			t.Errorf("goja's baseJsFuncObject has no field %q", f)
		}
	}
}

// burnHost's console.log stands for a turn that burns CPU while the
// watchdog's timer is late: it takes the timer away, spins for three
// limits of CPU, and lets the watchdog make its late check.
type burnHost struct {
	acctHost
	i     *Isolate
	limit time.Duration
}

func (h *burnHost) Log(slog.Level, string) {
	h.i.watch.Stop()
	c, _ := startThreadClock()
	defer c.stop()
	start, _ := c.read()
	for now := start; now-start < 3*h.limit; now, _ = c.read() {
	}
	h.i.watchdog()
}

// On a quiet node a late first check undercharges an isolate at most
// once: after a turn that ran past the checkpoint, its turns are clocked
// from their start, and one that burns three limits of CPU before a late
// check is ended. That late check marks the node loaded.
func TestAcctCPU_LateFirstCheckCannotHideCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the CPU-time clock is read on Linux only")
	}
	const limit = 20 * time.Millisecond
	i := acctIsolate(t, `export function receive(m) { if (m === "long") { for (let k = 0; k < 1e9; k++) { if (k % 1000 === 0 && ok()) return k; } } console.log("burn"); return 1; }
		let since = 0; function ok() { return ++since > 50; }`, Limits{CPU: limit})
	saved := loadedUntil.Load()
	t.Cleanup(func() { loadedUntil.Store(saved) })
	loadedUntil.Store(0) // a quiet node: turns are clocked after a long one only
	var out Outcome
	// A turn past the checkpoint (about 2 ms of a plain loop).
	for !i.longTurns.Load() {
		i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue("long"), nil }, false, func(o Outcome) { out = o })
	}
	i.cfg.Host = &burnHost{i: i, limit: limit}
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue("burn"), nil }, false, func(o Outcome) { out = o })
	if !errors.Is(out.Crash, ErrCPULimit) {
		t.Fatalf("a turn that burnt %v of CPU before a late first check: %v, want cpu_limit", 3*limit, out.Crash)
	}
	if loadedUntil.Load() == 0 {
		t.Fatal("a running turn's check came late, and the node was not marked loaded")
	}
}

// On a loaded node (a running turn's check came late) a new isolate's
// turns are clocked from their start: its first turn, burning three
// limits of CPU before a late first check, is ended.
func TestAcctCPU_OnALoadedNodeFirstTurnsAreClocked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the CPU-time clock is read on Linux only")
	}
	saved := loadedUntil.Load()
	t.Cleanup(func() { loadedUntil.Store(saved) })
	loadedUntil.Store(math.MaxInt64)
	const limit = 20 * time.Millisecond
	i := acctIsolate(t, `export function receive(m) { console.log("burn"); return 1; }`, Limits{CPU: limit})
	i.cfg.Host = &burnHost{i: i, limit: limit}
	var out Outcome
	i.startTurnWith(i.receive, func() (goja.Value, error) { return i.rt.ToValue("burn"), nil }, false, func(o Outcome) { out = o })
	if !errors.Is(out.Crash, ErrCPULimit) {
		t.Fatalf("a new isolate's first turn on a loaded node burnt %v of CPU before a late first check: %v, want cpu_limit", 3*limit, out.Crash)
	}
}

// The field of goja's vm that Interrupt writes from other goroutines is
// found where the walk expects it and skipped: if an upgrade renames or
// moves it, this fails.
func TestAcctMemory_InterruptFieldSkipped(t *testing.T) {
	i := acctIsolate(t, `export function receive() {}`, Limits{})
	vmField := reflect.ValueOf(i.rt).Elem().FieldByName("vm")
	if !vmField.IsValid() || vmField.Kind() != reflect.Pointer {
		t.Fatal("goja's Runtime has no vm pointer")
	}
	vt := vmField.Type().Elem()
	f, ok := vt.FieldByName("interruptVal")
	if !ok || f.Type.Kind() != reflect.Interface || !concurrentField(vt, f.Name) {
		t.Fatalf("goja's vm.interruptVal moved (found %v, %v)", ok, f.Type)
	}
	for _, k := range infoOf(vt).fields {
		if vt.Field(k).Name == "interruptVal" {
			t.Fatal("the walk visits vm.interruptVal")
		}
	}
}
