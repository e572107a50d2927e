package actor

import (
	"math"
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
//
// Handing a wake-up to a parked goroutine costs more than the send: when
// the other cores are idle, Go wakes an OS thread to run it (a futex call,
// about a microsecond here), and in a call between two scripts that thread
// finds nothing to do, since the caller's run ends at once, and sleeps
// again. So a script worker's run has a slot for one wake-up, as a Go
// scheduler's P has runnext: a wake-up made in the run (the first message
// of a call, its reply) goes to the slot, readying nobody, and when the run
// ends its goroutine runs the slot's job itself instead of parking, still
// locked to its thread, so that the next run's pin knows the thread
// (isolate.Pin.Follow). A ping-pong of calls then stays on one goroutine
// and thread, with no system call for the hand-offs. The run is found by
// the calling goroutine's identity (curg); where that cannot be read, or
// in a Go actor's run, which may block on what it scheduled, a wake-up
// takes the queue. A slot's job is handed to the queue
//   - when its run goes on to another message (moreInRun), so that a
//     sender keeps its receiver running beside it;
//   - when the run has held its goroutine for stallAfter: the watcher,
//     which looks every stallAfter while a slot or the queue is in use;
//   - when its run ends with wake-ups queued, so that it does not jump
//     ahead of them;
//   - at stop.
//
// A slot's job is moved under its worker's mu by whoever takes it, so it
// runs once, and it waits for its run at most about two stallAfter.
type dispatcher struct {
	work  chan job
	done  chan struct{}
	wake  chan struct{} // the watcher's: a wake-up was queued or slotted
	base  int
	slice atomic.Int64 // how long a pinned run keeps its CPU: yieldAfter, but for tests

	stopped  atomic.Bool
	idle     atomic.Int32  // goroutines parked on work
	watching atomic.Bool   // the watcher looks every stallAfter
	handedOn atomic.Int64  // slot jobs the watcher or stop handed on
	yields   atomic.Uint64 // CPUs pinned runs gave up, for tests; kept here, since a goroutine the watcher added exits

	mu      sync.Mutex
	workers map[*poolWorker]struct{}
	list    atomic.Pointer[[]*poolWorker] // workers, for finding a goroutine's
}

// stallAfter is how long a run holds its goroutine before the watcher
// counts it out of the pool; queueCap bounds the queued wake-ups (one per
// mailbox at most), beyond which a wake-up gets a goroutine of its own.
const (
	stallAfter = time.Millisecond
	queueCap   = 4096
)

// poolWorker is one pooled goroutine; busy is the monotonic time its
// current run began, 0 while it waits. g is its curg, 0 until it starts.
type poolWorker struct {
	busy  atomic.Int64
	g     atomic.Uintptr
	full  atomic.Bool   // next holds a job
	fills atomic.Uint64 // jobs ever put in the slot

	mu   sync.Mutex
	open bool // in a script worker's run: the slot takes a job
	next job  // the slot; valid while full

	// The pinned run in progress, touched only by w's goroutine (see
	// dispatcher.yield): its pin, which a yield replaces, and its process;
	// the messages it reached since the clock was last looked at, when
	// that was, and how many to let pass between looks; when the run
	// last took a CPU.
	pin    *isolate.Pin
	proc   *Process
	seen   int
	looked int64
	every  int
	slice  int64
}

// job is a mailbox run: fn, pinned for p's worker if p is set. It is
// passed by value, so that a wake-up allocates no closure to carry it.
type job struct {
	fn func()
	p  *Process
}

func (j job) run() {
	if j.p != nil {
		j.p.runPinned(j.fn, nil).Unpin()
		return
	}
	j.fn()
}

func newDispatcher() *dispatcher {
	curgOnce.Do(func() { curgOK = checkCurg() })
	d := &dispatcher{
		work:    make(chan job, queueCap),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		base:    2 * runtime.GOMAXPROCS(0),
		workers: make(map[*poolWorker]struct{}),
	}
	d.slice.Store(int64(yieldAfter))
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
	d.publish()
	d.mu.Unlock()
	go d.loop(w)
}

// publish copies the workers into list. d.mu must be held.
func (d *dispatcher) publish() {
	l := make([]*poolWorker, 0, len(d.workers))
	for w := range d.workers {
		l = append(l, w)
	}
	d.list.Store(&l)
}

func (d *dispatcher) loop(w *poolWorker) {
	if curgOK {
		w.g.Store(curg())
	}
	defer func() {
		w.g.Store(0)
		d.mu.Lock()
		delete(d.workers, w)
		d.publish()
		d.mu.Unlock()
	}()
	for {
		d.idle.Add(1)
		select {
		case j := <-d.work:
			d.idle.Add(-1)
			d.runs(w, j)
		case <-d.done:
			d.idle.Add(-1)
			return
		}
		if int(d.idle.Load()) >= d.base && len(d.work) == 0 {
			return // a goroutine the watcher added, no longer needed
		}
	}
}

// runs runs j, then the job its run left in w's slot, and so on, until a
// run leaves none or wake-ups are queued, which go first. The goroutine
// stays locked to its thread from one pinned run to the next, so that a
// run's pin knows the thread from the run before.
func (d *dispatcher) runs(w *poolWorker, j job) {
	var pin *isolate.Pin // the last pinned run's, still locked
	defer func() {
		if pin != nil {
			pin.Unpin()
		}
	}()
	for {
		w.busy.Store(clock())
		if j.p != nil {
			if curgOK {
				w.mu.Lock()
				w.open = true
				w.mu.Unlock()
			}
			pin = w.runPinned(j, pin)
		} else {
			if pin != nil {
				pin.Unpin()
				pin = nil
			}
			j.fn()
		}
		next, ok := w.take(true)
		w.busy.Store(0)
		if !ok {
			return
		}
		if len(d.work) > 0 {
			d.enqueue(next)
			return
		}
		j = next
	}
}

// offer puts j in w's slot if w is in a script worker's run and the slot
// is free.
func (w *poolWorker) offer(j job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.open || w.full.Load() {
		return false
	}
	w.next = j
	w.full.Store(true)
	w.fills.Add(1)
	return true
}

// take empties w's slot and, if shut, closes it until w's next run.
func (w *poolWorker) take(shut bool) (job, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if shut {
		w.open = false
	}
	if !w.full.Load() {
		return job{}, false
	}
	j := w.next
	w.next = job{}
	w.full.Store(false)
	return j, true
}

// self is the pooled goroutine calling it, or nil.
func (d *dispatcher) self() *poolWorker {
	g := curg()
	if g == 0 || !curgOK {
		return nil
	}
	for _, w := range *d.list.Load() {
		if w.g.Load() == g {
			return w
		}
	}
	return nil
}

// moreInRun hands the job in the calling goroutine's slot, if any, to the
// queue: the run it is in goes on to another message, so the slot's job
// would wait for that one too. A script worker calls it as each message
// reaches it; it is also where a long pinned run yields its CPU.
func (d *dispatcher) moreInRun() {
	w := d.self()
	if w == nil {
		return
	}
	if w.full.Load() {
		if j, ok := w.take(false); ok {
			d.enqueue(j)
		}
	}
	d.yield(w)
}

// yieldAfter is how long a pinned run keeps its CPU before it lets the
// goroutines waiting for one run.
const yieldAfter = time.Millisecond

// yield lets other goroutines have w's CPU once its pinned run has had it
// for d.slice (yieldAfter), as protoactor's mailbox does every Throughput
// messages, but with the goroutine unlocked from its thread meanwhile. A
// goroutine locked to its thread can run only there: after a
// runtime.Gosched it waits until that thread is woken for it and gets a
// CPU, and the CPU it left stays idle until another thread is woken to
// take it (two futex calls on this VM, and on a loaded machine up to
// milliseconds each). Every 300 messages, that left each core idle a
// fifth to a half of the time while four actors had work (ThroughputJS).
// Unlocked, the goroutine goes back to the run queue like any other, the
// CPU runs whatever waits there, and the run comes back on whichever
// thread is free, under a new pin.
//
// The clock is looked at every w.every messages, about eight times per
// slice: fewer looks as messages come faster, one per message for slow ones.
func (d *dispatcher) yield(w *poolWorker) {
	if w.pin == nil {
		return // not in a pinned run
	}
	if w.seen++; w.seen < w.every {
		return
	}
	now, slice := clock(), d.slice.Load()
	switch span := now - w.looked; {
	case span > slice/8 && w.every > 1:
		w.every /= 2
	case span < slice/32 && w.every < maxEvery:
		w.every *= 2
	}
	w.seen, w.looked = 0, now
	if now-w.slice < slice {
		return
	}
	w.pin.Unpin()
	runtime.Gosched()
	w.pin = isolate.PinThread()
	w.proc.pin.Store(w.pin)
	w.slice = clock()
	d.yields.Add(1)
}

// maxEvery bounds how many messages a pinned run handles between two looks
// at the clock.
const maxEvery = 64

// watch adds goroutines while wake-ups are queued and fewer than base
// pooled goroutines are parked or in a young run, and hands on the slot
// jobs of runs older than stallAfter. It looks every stallAfter while the
// queue or a slot is in use, and sleeps otherwise.
func (d *dispatcher) watch() {
	t := time.NewTimer(stallAfter)
	t.Stop()
	var fills uint64 // slot jobs when it last looked
	for {
		d.watching.Store(false)
		if !d.inUse(&fills) || !d.watching.CompareAndSwap(false, true) {
			select {
			case <-d.wake:
				d.watching.Store(true)
			case <-d.done:
				d.drain()
				return
			}
		}
		for {
			t.Reset(stallAfter)
			select {
			case <-t.C:
			case <-d.done:
				t.Stop()
				d.drain()
				return
			}
			d.handOnStalled()
			if len(d.work) > 0 {
				for range d.short() {
					d.add()
				}
			}
			if !d.inUse(&fills) {
				break
			}
		}
	}
}

// inUse reports whether wake-ups are queued, a slot holds a job, or a slot
// took one since the count *fills, which it updates.
func (d *dispatcher) inUse(fills *uint64) bool {
	busy := len(d.work) > 0
	var n uint64
	for _, w := range *d.list.Load() {
		n += w.fills.Load()
		busy = busy || w.full.Load()
	}
	busy = busy || n != *fills
	*fills = n
	return busy
}

// handOnStalled moves to the queue the slot jobs of runs that began
// stallAfter ago or more.
func (d *dispatcher) handOnStalled() {
	now := clock()
	for _, w := range *d.list.Load() {
		if !w.full.Load() {
			continue
		}
		if b := w.busy.Load(); b == 0 || now-b < int64(stallAfter) {
			continue
		}
		if j, ok := w.take(false); ok {
			d.handedOn.Add(1)
			d.enqueue(j)
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

// handOnSlots hands every slot's job a goroutine of its own: after stop,
// no watcher looks at them.
func (d *dispatcher) handOnSlots() {
	for _, w := range *d.list.Load() {
		if j, ok := w.take(false); ok {
			d.handedOn.Add(1)
			go j.run()
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
	if w := d.self(); w != nil && w.offer(j) {
		if !d.watching.Load() && d.watching.CompareAndSwap(false, true) {
			d.poke()
		}
		if d.stopped.Load() {
			d.handOnSlots() // stop may have looked before j was slotted
		}
		return
	}
	d.enqueue(j)
}

// enqueue queues j for the next parked or finishing goroutine.
func (d *dispatcher) enqueue(j job) {
	select {
	case d.work <- j:
		if len(d.work) > 0 { // no parked goroutine took it at once
			d.poke()
		}
	default:
		go j.run() // the queue is full
	}
	if d.stopped.Load() {
		d.drain() // stop may have drained before j was queued
	}
}

// poke wakes the watcher if it sleeps.
func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Throughput implements protoactor's Dispatcher: messages a mailbox runs
// before it yields its goroutine.
func (d *dispatcher) Throughput() int { return 300 }

// stop ends the pooled goroutines; queued, slotted and later wake-ups get
// their own.
func (d *dispatcher) stop() {
	d.stopped.Store(true)
	close(d.done)
	d.drain()
	d.handOnSlots()
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

// Throughput is unbounded for a pinned run: protoactor's mailbox yields
// by runtime.Gosched, which for a goroutine locked to its thread costs
// two thread wake-ups and leaves a CPU idle between them; the run yields
// by time instead, unlocked (dispatcher.yield).
func (pd *pinnedDispatcher) Throughput() int { return math.MaxInt }

// runPinned runs one run of p's mailbox on a pinned thread: prev's, which
// it unpins, if prev is set. It returns the run's pin, for the caller to
// unpin or hand to the next run. protoactor runs a mailbox on one
// goroutine at a time; p's pin is cleared only if it is still this run's,
// since the next run can begin as soon as this one has left the mailbox
// idle.
func (p *Process) runPinned(fn func(), prev *isolate.Pin) *isolate.Pin {
	start := time.Now()
	pin := p.pinFor(prev)
	defer func() {
		p.pin.CompareAndSwap(pin, nil)
		p.countBusy(start)
	}()
	fn()
	return pin
}

// pinFor pins the calling goroutine for a run of p's mailbox, on prev's
// thread if prev is set, and publishes the pin to p's worker.
func (p *Process) pinFor(prev *isolate.Pin) *isolate.Pin {
	var pin *isolate.Pin
	if prev == nil {
		pin = isolate.PinThread()
	} else {
		pin = prev.Follow()
		prev.Unpin()
	}
	p.pin.Store(pin)
	return pin
}

// runPinned is Process.runPinned for j on w's goroutine, where the run
// may yield (yield) and so end under another pin than it began with.
func (w *poolWorker) runPinned(j job, prev *isolate.Pin) *isolate.Pin {
	start := time.Now()
	now := int64(start.Sub(epoch)) + 1 // clock()
	w.pin, w.proc = j.p.pinFor(prev), j.p
	w.seen, w.looked, w.every, w.slice = 0, now, max(w.every, 1), now
	defer func() {
		j.p.pin.CompareAndSwap(w.pin, nil)
		j.p.countBusy(start)
		w.pin, w.proc = nil, nil
	}()
	j.fn()
	return w.pin
}

// curgOK is whether curg tells goroutines apart, as checkCurg found when
// the first dispatcher started; without it no run has a slot.
var (
	curgOnce sync.Once
	curgOK   bool
)

// checkCurg checks that curg is not 0, stays the same on one goroutine
// across a stack move and a reschedule, and differs between two live
// goroutines.
func checkCurg() bool {
	mine := curg()
	if mine == 0 {
		return false
	}
	other := make(chan bool)
	go func() {
		g := curg()
		growStack(64)
		runtime.Gosched()
		other <- g != 0 && g != mine && g == curg()
	}()
	ok := <-other
	growStack(64)
	return ok && curg() == mine
}

// growStack uses about n KiB of stack, which moves a small one.
func growStack(n int) byte {
	var b [1024]byte
	b[n%len(b)] = byte(n)
	if n > 0 {
		return growStack(n-1) + b[n%len(b)]
	}
	return b[0]
}
