package actor

import (
	"slices"
	"sync"
	"sync/atomic"
)

// SubscriptionBuffer is how many events a subscription holds for a
// subscriber that has not yet handled them. Past it, new events for that
// subscriber are dropped and counted (Subscription.Dropped); other
// subscribers and the node are not slowed.
const SubscriptionBuffer = 1024

// Subscription is one subscriber to a node's event stream, from Subscribe.
// Safe for concurrent use.
type Subscription struct {
	node    *Node
	fn      func(Event)
	queue   chan Event
	stop    chan struct{} // closed by Close
	drain   chan struct{} // closed when the node has shut down
	done    chan struct{} // closed when the delivering goroutine has ended
	closed  atomic.Bool
	dropped atomic.Uint64
	once    sync.Once
}

// Subscribe calls fn with every event the node emits from now on, in the
// order they were emitted, until Close or the node's shutdown.
//
// The concurrency contract: fn runs on a goroutine of the subscription's
// own, one call at a time, never on a process's goroutine and never under
// the node's locks, so fn may block briefly, call any method of the node
// (Send, Call, Lookup, Shutdown), Subscribe, and Close this or any other
// subscription. Emitting never waits for a subscriber: each has a queue of
// SubscriptionBuffer events, and an event that finds the queue full is
// dropped for that subscriber and counted in Dropped. A panic in fn is not
// recovered.
//
// The goroutine ends after Close, or, when the node shuts down, once it has
// delivered the events queued before; Done is closed then. Subscribing to a
// node that has shut down returns a subscription that is already done.
func (n *Node) Subscribe(fn func(Event)) *Subscription {
	return n.subscribe(fn, false)
}

// subscribe adds a subscriber; the node's log is waited for at shutdown.
func (n *Node) subscribe(fn func(Event), log bool) *Subscription {
	s := &Subscription{node: n, fn: fn, queue: make(chan Event, SubscriptionBuffer),
		stop: make(chan struct{}), drain: make(chan struct{}), done: make(chan struct{})}
	n.subMu.Lock()
	defer n.subMu.Unlock()
	if n.subsEnded {
		s.closed.Store(true)
		close(s.done)
		return s
	}
	var next []*Subscription
	if cur := n.subs.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, s)
	n.subs.Store(&next)
	if log {
		n.logSub = s
	}
	go s.run()
	return s
}

// emit offers e to every subscriber. It takes no lock, calls no subscriber
// and never blocks, so it may run anywhere: on a process's hot path, under
// any of the node's locks.
func (n *Node) emit(e Event) {
	if subs := n.subs.Load(); subs != nil {
		for _, s := range *subs {
			s.offer(e)
		}
	}
}

// endSubscriptions lets every subscriber deliver what it has queued and
// end, and waits for the node's log to be written.
func (n *Node) endSubscriptions() {
	n.subMu.Lock()
	n.subsEnded = true
	var subs []*Subscription
	if cur := n.subs.Load(); cur != nil {
		subs = *cur
	}
	n.subs.Store(nil)
	log := n.logSub
	n.subMu.Unlock()
	for _, s := range subs {
		close(s.drain)
	}
	if log != nil {
		<-log.done
	}
}

func (s *Subscription) offer(e Event) {
	if s.closed.Load() {
		return
	}
	select {
	case s.queue <- e:
	default:
		s.dropped.Add(1)
	}
}

func (s *Subscription) run() {
	defer close(s.done)
	for {
		select {
		case e := <-s.queue:
			if s.closed.Load() {
				return
			}
			s.fn(e)
		case <-s.stop:
			return
		case <-s.drain:
			for {
				select {
				case e := <-s.queue:
					if s.closed.Load() {
						return
					}
					s.fn(e)
				default:
					return
				}
			}
		}
	}
}

// Close ends the subscription: events not yet delivered are discarded and
// fn is not called again once a call in progress has returned. Close
// returns at once, also when called from fn; wait on Done to know that fn
// has returned for the last time (not from fn itself). Safe to call twice.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		n := s.node
		n.subMu.Lock()
		defer n.subMu.Unlock()
		if cur := n.subs.Load(); cur != nil {
			next := slices.DeleteFunc(slices.Clone(*cur), func(x *Subscription) bool { return x == s })
			n.subs.Store(&next)
		}
	})
}

// Done is closed when the subscription's goroutine has ended: after Close,
// or after the node's shutdown once the events queued before it have been
// delivered.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Dropped reports how many events this subscriber missed because its queue
// was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }
