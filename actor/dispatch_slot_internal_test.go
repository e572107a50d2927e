package actor

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/testkit"
)

// slotDispatcher starts a dispatcher for a test and, at its end, stops it
// and waits for its pooled goroutines to end.
func slotDispatcher(t *testing.T) *dispatcher {
	t.Helper()
	d := newDispatcher()
	if !curgOK {
		d.stop()
		t.Skip("curg does not tell goroutines apart on this platform: no run has a slot")
	}
	t.Cleanup(func() {
		if !d.stopped.Load() {
			d.stop()
		}
		poolEnded(t, d)
	})
	return d
}

// waitRun waits for a job to report on ch; a test fails rather than
// hangs if the dispatcher lost it.
func waitRun[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never ran", what)
		panic("unreachable")
	}
}

// allParked waits until every pooled goroutine is parked: no job runs.
func allParked(t *testing.T, d *dispatcher) {
	t.Helper()
	testkit.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		if n := int(d.idle.Load()); n != d.base || len(d.work) > 0 {
			return fmt.Errorf("%d of %d pooled goroutines parked, %d wake-ups queued", n, d.base, len(d.work))
		}
		return nil
	})
}

// A wake-up made in a script worker's run waits in the run's slot; when
// the run holds its goroutine (here: until that very job has run), the
// watcher hands the job on, and it runs once, on another goroutine.
func TestDispatch_SlotJobOfAStalledRunRunsOnce(t *testing.T) {
	d := slotDispatcher(t)
	var runs atomic.Int32
	ranOn := make(chan uintptr, 2)
	report := make(chan error, 1)
	d.schedule(job{p: &Process{}, fn: func() {
		me := curg()
		d.schedule(job{fn: func() { runs.Add(1); ranOn <- curg() }})
		if w := d.self(); w == nil || !w.full.Load() {
			report <- fmt.Errorf("a wake-up made in a script worker's run did not go to its slot")
			return
		}
		report <- ranElsewhere(ranOn, me, "the slot's job", "the job in a stalled run's slot was never handed on")
	}})
	if err := waitRun(t, report, "the stalling run"); err != nil {
		t.Fatal(err)
	}
	allParked(t, d) // the stalled run has ended and its goroutine looked at its slot
	if got, want := runs.Load(), int32(1); got != want {
		t.Fatalf("the slot's job ran %d times, want %d", got, want)
	}
	if got, want := d.handedOn.Load(), int64(1); got != want {
		t.Fatalf("%d slot jobs handed on, want %d", got, want)
	}
}

// When the run ends, its goroutine runs the slot's job itself, and a
// chain of wake-ups made run after run (a ping-pong of calls) stays on
// that goroutine.
func TestDispatch_SlotJobRunsAfterItsRun(t *testing.T) {
	d := slotDispatcher(t)
	const hops = 50
	gs := make(chan uintptr, hops+1)
	var hop func(k int) job
	hop = func(k int) job {
		return job{p: &Process{}, fn: func() {
			gs <- curg()
			if k < hops {
				d.schedule(hop(k + 1))
			}
		}}
	}
	d.schedule(hop(0))
	first, same := waitRun(t, gs, "hop 0"), 0
	for k := 1; k <= hops; k++ {
		if waitRun(t, gs, fmt.Sprintf("hop %d", k)) == first {
			same++
		}
	}
	allParked(t, d)
	if got := len(gs); got != 0 {
		t.Fatalf("%d hops ran more than once", got)
	}
	// Through the queue, a hop would go to a parked goroutine, never to
	// the busy one that made it. Only a run whose thread was descheduled
	// for stallAfter is handed on.
	if same < hops/2 {
		t.Fatalf("%d of %d hops ran on the first hop's goroutine, want most", same, hops)
	}
}

// stop hands a slot's job a goroutine of its own: no watcher looks at the
// slot after stop, and the run that filled it may never end. The job runs
// once, and so does one scheduled from the run after stop.
func TestDispatch_StopWithASlotOccupied(t *testing.T) {
	d := slotDispatcher(t)
	var slotted, after atomic.Int32
	ran := make(chan string, 4)
	report := make(chan error, 1)
	d.schedule(job{p: &Process{}, fn: func() {
		d.schedule(job{fn: func() { slotted.Add(1); ran <- "slotted" }})
		if w := d.self(); w == nil || !w.full.Load() {
			report <- fmt.Errorf("a wake-up made in a script worker's run did not go to its slot")
			return
		}
		d.stop()
		d.schedule(job{fn: func() { after.Add(1); ran <- "after" }})
		seen := map[string]bool{}
		for len(seen) < 2 {
			select {
			case s := <-ran:
				seen[s] = true
			case <-time.After(10 * time.Second):
				report <- fmt.Errorf("after stop, only %v ran of the slotted job and the later one", seen)
				return
			}
		}
		report <- nil
	}})
	if err := waitRun(t, report, "the run that stops the dispatcher"); err != nil {
		t.Fatal(err)
	}
	poolEnded(t, d)
	if s, a := slotted.Load(), after.Load(); s != 1 || a != 1 {
		t.Fatalf("after stop the slotted job ran %d times and the later one %d, want 1 and 1", s, a)
	}
	if got := len(ran); got != 0 {
		t.Fatalf("%d more runs reported after the pool ended", got)
	}
}

// A run that goes on to another message hands its slot's job on
// (moreInRun); a Go actor's run, unpinned, has no slot.
func TestDispatch_MoreInRunHandsOnAndGoRunsHaveNoSlot(t *testing.T) {
	d := slotDispatcher(t)
	report := make(chan error, 1)
	ran := make(chan uintptr, 2)
	d.schedule(job{p: &Process{}, fn: func() {
		me := curg()
		d.schedule(job{fn: func() { ran <- curg() }})
		d.moreInRun()
		if w := d.self(); w == nil || w.full.Load() {
			report <- fmt.Errorf("moreInRun left the job in the slot")
			return
		}
		report <- ranElsewhere(ran, me, "the handed-on job", "the handed-on job never ran")
	}})
	if err := waitRun(t, report, "the pinned run"); err != nil {
		t.Fatal(err)
	}
	d.schedule(job{fn: func() {
		d.schedule(job{fn: func() { ran <- 0 }})
		if w := d.self(); w == nil {
			report <- fmt.Errorf("a pooled goroutine did not find itself")
		} else if w.full.Load() {
			report <- fmt.Errorf("a Go actor's run took a job in its slot")
		} else {
			report <- nil
		}
	}})
	if err := waitRun(t, report, "the unpinned run"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, ran, "the job scheduled from the unpinned run")
	allParked(t, d)
	if got := d.handedOn.Load(); got != 0 {
		t.Fatalf("the watcher or stop handed on %d slot jobs, want 0", got)
	}
}

// The goroutine identity the slots rely on holds here.
func TestCurg_TellsGoroutinesApart(t *testing.T) {
	if curg() == 0 {
		t.Skip("curg is not read on this platform")
	}
	if !checkCurg() {
		t.Fatal("curg is not stable on one goroutine or not distinct between two: the Go ABI moved")
	}
}

// ranElsewhere waits for what a job sends on ran, the goroutine it ran on,
// and says what went wrong if it ran on me, the run's own goroutine, or
// not at all.
func ranElsewhere(ran <-chan uintptr, me uintptr, job, never string) error {
	select {
	case g := <-ran:
		if g == me {
			return fmt.Errorf("%s ran on its run's own goroutine", job)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s", never)
	}
}

// poolEnded waits until every pooled goroutine of the stopped d has exited.
func poolEnded(t *testing.T, d *dispatcher) {
	t.Helper()
	testkit.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if n := len(d.workers); n > 0 {
			return fmt.Errorf("%d pooled goroutines still running after stop", n)
		}
		return nil
	})
}
