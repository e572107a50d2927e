package actor

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

// A pinned run that has had its CPU for its slice yields it at the next
// message: each yield gives the run a new pin, published to its process
// for the turns that follow, and the run ends under the last one, which
// the goroutine hands on to its next run as before.
func TestDispatch_PinnedRunYieldsUnderANewPin(t *testing.T) {
	d := slotDispatcher(t)
	d.slice.Store(0) // every look at the clock finds the slice used up
	const msgs = 40
	p := &Process{}
	report := make(chan error, 1)
	var last atomic.Pointer[isolate.Pin]
	d.schedule(job{p: p, fn: func() {
		w := d.self()
		if w == nil {
			report <- fmt.Errorf("a pooled goroutine did not find itself")
			return
		}
		seen := map[*isolate.Pin]bool{p.pin.Load(): true}
		for range msgs {
			d.moreInRun()
			pin := p.pin.Load()
			if pin != w.pin {
				report <- fmt.Errorf("the process's pin is not its run's after a yield")
				return
			}
			seen[pin] = true
		}
		last.Store(p.pin.Load())
		if got := len(seen); got != msgs+1 {
			report <- fmt.Errorf("%d messages ran under %d pins, want %d: one per yield and the first", msgs, got, msgs+1)
			return
		}
		report <- nil
	}})
	if err := waitRun(t, report, "the pinned run"); err != nil {
		t.Fatal(err)
	}
	allParked(t, d)
	if p.pin.Load() != nil {
		t.Fatal("the process keeps a pin after its run ended")
	}
	if yields := d.yields.Load(); yields != msgs {
		t.Fatalf("%d yields in a run of %d messages with no slice, want %d", yields, msgs, msgs)
	}
	if last.Load() == nil {
		t.Fatal("the run did not record its last pin")
	}
}

// A run yields only once its slice is used up, and a Go actor's run,
// unpinned, never does (protoactor yields it every Throughput messages).
func TestDispatch_NoYieldWithinTheSliceOrOutsideAPinnedRun(t *testing.T) {
	d := slotDispatcher(t)
	d.slice.Store(1 << 62) // never used up
	report := make(chan error, 2)
	p := &Process{}
	d.schedule(job{p: p, fn: func() {
		first := p.pin.Load()
		for range 1000 {
			d.moreInRun()
		}
		if p.pin.Load() != first {
			report <- fmt.Errorf("a run within its slice changed its pin")
			return
		}
		report <- nil
	}})
	if err := waitRun(t, report, "the pinned run"); err != nil {
		t.Fatal(err)
	}
	d.slice.Store(0)
	d.schedule(job{fn: func() {
		for range 100 {
			d.moreInRun()
		}
		report <- nil
	}})
	if err := waitRun(t, report, "the unpinned run"); err != nil {
		t.Fatal(err)
	}
	allParked(t, d)
	if n := d.yields.Load(); n != 0 {
		t.Fatalf("the pooled goroutines yielded %d times, want 0", n)
	}
	if got, want := (&pinnedDispatcher{d: d}).Throughput(), d.Throughput(); got <= want {
		t.Fatalf("a pinned run lets protoactor yield every %d messages, want it never to (more than %d)", got, want)
	}
}

// With one CPU, a pinned run that waits for a job queued behind it (a
// mailbox woken while it runs) gets it done by yielding: it counts the
// messages it handles until then, and the job counts its own runs.
func TestDispatch_LongPinnedRunLetsAQueuedJobRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	d := slotDispatcher(t)
	d.slice.Store(0)
	var other atomic.Int32
	report := make(chan error, 1)
	d.schedule(job{p: &Process{}, fn: func() {
		d.enqueue(job{fn: func() { other.Add(1) }})
		handled := 0
		for other.Load() == 0 {
			d.moreInRun()
			handled++
		}
		if handled == 0 {
			report <- fmt.Errorf("the queued job ran before the run handled a message")
			return
		}
		report <- nil
	}})
	if err := waitRun(t, report, "the pinned run"); err != nil {
		t.Fatal(err)
	}
	allParked(t, d)
	if got := other.Load(); got != 1 {
		t.Fatalf("the queued job ran %d times, want 1", got)
	}
}
