package actor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/isolate"

	proto "github.com/asynkron/protoactor-go/actor"
)

// dispatcher runs mailboxes on a pool of long-lived goroutines. protoactor's
// default starts a goroutine for every mailbox wake-up, and a goja runtime
// regrows its deep stack on each (runtime.copystack was a tenth of a
// spawn's CPU); a warm goroutine keeps it.
//
// A wake-up that finds no parked goroutine waits in a bounded FIFO queue
// for the next one to finish its run, as a goroutine waits for a CPU. It
// never waits behind a long run: the pool keeps base goroutines that are
// either parked or in a run younger than stallAfter, and a watcher adds a
// goroutine for every one that has been in its run longer (a flooded
// mailbox, a CPU-bound turn, a blocking Go actor) while wake-ups are
// queued. A goroutine left over once base others are parked exits.
type dispatcher struct {
	work chan job
	done chan struct{}
	wake chan struct{} // the watcher's: a wake-up was queued
	base int

	stopped atomic.Bool
	idle    atomic.Int32 // goroutines parked on work

	mu      sync.Mutex
	workers map[*poolWorker]struct{}
}

// stallAfter is how long a run holds its goroutine before the watcher
// counts it out of the pool; queueCap bounds the queued wake-ups (one per
// mailbox at most), beyond which a wake-up gets a goroutine of its own.
const (
	stallAfter = time.Millisecond
	queueCap   = 4096
)

// poolWorker is one pooled goroutine; busy is the monotonic time its
// current run began, 0 while it waits.
type poolWorker struct{ busy atomic.Int64 }

// job is a mailbox run: fn, pinned for p's worker if p is set. It is
// passed by value, so that a wake-up allocates no closure to carry it.
type job struct {
	fn func()
	p  *Process
}

func (j job) run() {
	if j.p != nil {
		j.p.runPinned(j.fn)
		return
	}
	j.fn()
}

func newDispatcher() *dispatcher {
	d := &dispatcher{
		work:    make(chan job, queueCap),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		base:    2 * runtime.GOMAXPROCS(0),
		workers: make(map[*poolWorker]struct{}),
	}
	for i := 0; i < d.base; i++ {
		d.add()
	}
	go d.watch()
	return d
}

// clock is monotonic nanoseconds since the dispatchers' epoch, never 0.
var epoch = time.Now()

func clock() int64 { return int64(time.Since(epoch)) + 1 }

func (d *dispatcher) add() {
	w := &poolWorker{}
	d.mu.Lock()
	d.workers[w] = struct{}{}
	d.mu.Unlock()
	go d.loop(w)
}

func (d *dispatcher) loop(w *poolWorker) {
	defer func() {
		d.mu.Lock()
		delete(d.workers, w)
		d.mu.Unlock()
	}()
	for {
		d.idle.Add(1)
		select {
		case j := <-d.work:
			d.idle.Add(-1)
			w.busy.Store(clock())
			j.run()
			w.busy.Store(0)
		case <-d.done:
			d.idle.Add(-1)
			return
		}
		if int(d.idle.Load()) >= d.base && len(d.work) == 0 {
			return // a goroutine the watcher added, no longer needed
		}
	}
}

// watch adds goroutines while wake-ups are queued and fewer than base
// pooled goroutines are parked or in a young run. It looks every
// stallAfter while the queue is not empty, and sleeps otherwise.
func (d *dispatcher) watch() {
	t := time.NewTimer(stallAfter)
	t.Stop()
	for {
		select {
		case <-d.wake:
		case <-d.done:
			t.Stop()
			d.drain()
			return
		}
		for len(d.work) > 0 {
			t.Reset(stallAfter)
			select {
			case <-t.C:
			case <-d.done:
				t.Stop()
				d.drain()
				return
			}
			if len(d.work) > 0 {
				for range d.short() {
					d.add()
				}
			}
		}
	}
}

// short is how many goroutines the pool lacks: base less those parked or
// in a run younger than stallAfter.
func (d *dispatcher) short() int {
	now := clock()
	d.mu.Lock()
	live := 0
	for w := range d.workers {
		if b := w.busy.Load(); b == 0 || now-b < int64(stallAfter) {
			live++
		}
	}
	d.mu.Unlock()
	return max(d.base-live, 0)
}

// drain hands the wake-ups still queued after stop a goroutine each.
func (d *dispatcher) drain() {
	for {
		select {
		case j := <-d.work:
			go j.run()
		default:
			return
		}
	}
}

// Schedule implements protoactor's Dispatcher: a pooled goroutine runs fn.
func (d *dispatcher) Schedule(fn func()) { d.schedule(job{fn: fn}) }

func (d *dispatcher) schedule(j job) {
	if d.stopped.Load() {
		go j.run()
		return
	}
	select {
	case d.work <- j:
		if len(d.work) > 0 { // no parked goroutine took it at once
			select {
			case d.wake <- struct{}{}:
			default:
			}
		}
	default:
		go j.run() // the queue is full
	}
	if d.stopped.Load() {
		d.drain() // stop may have drained before j was queued
	}
}

// Throughput implements protoactor's Dispatcher: messages a mailbox runs
// before it yields its goroutine.
func (d *dispatcher) Throughput() int { return 300 }

// stop ends the pooled goroutines; queued and later wake-ups get their
// own.
func (d *dispatcher) stop() {
	d.stopped.Store(true)
	close(d.done)
	d.drain()
}

// forProcess is the dispatcher of p's mailbox. A script worker's mailbox
// runs pinned: its goroutine is locked to one OS thread for the whole run
// of messages it handles back to back, so that its turns learn their
// thread and share CPU clock readings (isolate.Pin) instead of paying a
// system call each. The run's wall time is the process's busy time.
func (d *dispatcher) forProcess(p *Process) proto.Dispatcher {
	if p.kind != KindWorker || p.spec.Go != "" {
		return d
	}
	return &pinnedDispatcher{d: d, p: p}
}

type pinnedDispatcher struct {
	d *dispatcher
	p *Process
}

func (pd *pinnedDispatcher) Schedule(fn func()) { pd.d.schedule(job{fn: fn, p: pd.p}) }

func (pd *pinnedDispatcher) Throughput() int { return pd.d.Throughput() }

// runPinned runs one run of p's mailbox on a pinned thread. protoactor runs
// a mailbox on one goroutine at a time; the pin is cleared only if it is
// still this run's, since the next run can begin as soon as this one has
// left the mailbox idle.
func (p *Process) runPinned(fn func()) {
	start := time.Now()
	pin := isolate.PinThread()
	p.pin.Store(pin)
	defer func() {
		p.pin.CompareAndSwap(pin, nil)
		pin.Unpin()
		p.countBusy(start)
	}()
	fn()
}
