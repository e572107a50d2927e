package actor

import (
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// Observer receives per-message measurements that the event stream does not
// carry: metrics are its consumer. Its methods run on the goroutine of the
// process concerned, on the hot path, and must not block.
type Observer interface {
	// Handled is called when a message turn of p has ended, however it
	// ended; d runs from the turn's start until its result (or the promise
	// it returned) settled.
	Handled(p *Process, d time.Duration)
	// Sent is called when p has put a message (send, call or sendAfter)
	// into another process's mailbox.
	Sent(p *Process)
}

// RefusalCounter is an Observer that also counts the refusals a script's
// budget kept out of the event stream (see worker.report): a Denied or
// LimitHit it would have had as an event, handed over on the goroutine of
// the process that provoked it. Metrics count every refusal this way,
// while the shared event queues carry a bounded share of them.
type RefusalCounter interface {
	Unreported(e Event)
}

type observerRef struct{ Observer }

// Observe installs o as the node's observer, replacing any before it; nil
// removes it. Safe for concurrent use.
func (n *Node) Observe(o Observer) {
	if o == nil {
		n.observer.Store(nil)
		return
	}
	n.observer.Store(&observerRef{o})
}

func (n *Node) observerOf() Observer {
	if r := n.observer.Load(); r != nil {
		return r.Observer
	}
	return nil
}

// timed wraps a turn's completion callback so the observer learns how long
// the turn took.
func (w *worker) timed(done func(isolate.Outcome)) func(isolate.Outcome) {
	o := w.proc.node.observerOf()
	if o == nil {
		return done
	}
	start, p := time.Now(), w.proc
	return func(out isolate.Outcome) {
		o.Handled(p, time.Since(start))
		done(out)
	}
}

// sent tells the observer about a message that err says was delivered,
// and returns err.
func (w *worker) sent(err error) error {
	if err == nil {
		if o := w.proc.node.observerOf(); o != nil {
			o.Sent(w.proc)
		}
	}
	return err
}
