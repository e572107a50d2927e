package actor

import "runtime"

// dispatcher runs mailboxes on a few long-lived goroutines. protoactor's
// default starts a goroutine for every mailbox wake-up, and a goja runtime
// regrows its deep stack on each; a warm goroutine keeps it. When every
// pooled goroutine is busy — long turns — a wake-up gets a goroutine of its
// own, as with the default, so no mailbox ever waits for another's turn.
type dispatcher struct {
	work chan func()
	done chan struct{}
}

func newDispatcher() *dispatcher {
	d := &dispatcher{work: make(chan func()), done: make(chan struct{})}
	for i := 0; i < 2*runtime.GOMAXPROCS(0); i++ {
		go d.loop()
	}
	return d
}

func (d *dispatcher) loop() {
	for {
		select {
		case fn := <-d.work:
			fn()
		case <-d.done:
			return
		}
	}
}

// Schedule implements protoactor's Dispatcher: an idle pooled goroutine
// takes fn, or a new one runs it.
func (d *dispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

// Throughput implements protoactor's Dispatcher: messages a mailbox runs
// before it yields its goroutine.
func (d *dispatcher) Throughput() int { return 300 }

// stop ends the pooled goroutines; later wake-ups get their own.
func (d *dispatcher) stop() { close(d.done) }
