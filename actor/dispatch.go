package actor

import (
	"runtime"
	"time"

	"github.com/cloister-rt/cloister/isolate"

	proto "github.com/asynkron/protoactor-go/actor"
)

// dispatcher runs mailboxes on a few long-lived goroutines. protoactor's
// default starts a goroutine for every mailbox wake-up, and a goja runtime
// regrows its deep stack on each; a warm goroutine keeps it. When every
// pooled goroutine is busy — long turns — a wake-up gets a goroutine of its
// own, as with the default, so no mailbox ever waits for another's turn.
type dispatcher struct {
	work chan job
	done chan struct{}
}

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
	d := &dispatcher{work: make(chan job), done: make(chan struct{})}
	for i := 0; i < 2*runtime.GOMAXPROCS(0); i++ {
		go d.loop()
	}
	return d
}

func (d *dispatcher) loop() {
	for {
		select {
		case j := <-d.work:
			j.run()
		case <-d.done:
			return
		}
	}
}

// Schedule implements protoactor's Dispatcher: an idle pooled goroutine
// takes fn, or a new one runs it.
func (d *dispatcher) Schedule(fn func()) { d.schedule(job{fn: fn}) }

func (d *dispatcher) schedule(j job) {
	select {
	case d.work <- j:
	default:
		go j.run()
	}
}

// Throughput implements protoactor's Dispatcher: messages a mailbox runs
// before it yields its goroutine.
func (d *dispatcher) Throughput() int { return 300 }

// stop ends the pooled goroutines; later wake-ups get their own.
func (d *dispatcher) stop() { close(d.done) }

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
