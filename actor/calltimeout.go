package actor

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// callWaits times out a worker's outgoing script calls with one timer for
// all of them, instead of a timer of the runtime's per call: a call adds
// its deadline to a heap and its id to a set; a reply only takes the id
// out of the set (its heap entry is dropped when its deadline comes, or
// when answered entries outnumber the waiting ones); the timer is set for
// the earliest deadline and, when it fires, tells the worker, which fails
// every call whose deadline has passed. Used on the worker's goroutine only.
type callWaits struct {
	live  map[uint64]time.Duration // calls awaiting a reply, with their timeouts
	dues  dueHeap
	timer *time.Timer
	at    time.Time // when timer fires; zero if it is not set
}

// callsDue is the timer's message: some call of incarnation inc is due.
type callsDue struct{ inc uint64 }

type due struct {
	at time.Time
	id uint64
}

type dueHeap []due

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(due)) }

// push is heap.Push without boxing d in an interface (an allocation per
// call).
func (h *dueHeap) push(d due) {
	*h = append(*h, d)
	s := *h
	for j := len(s) - 1; j > 0; {
		p := (j - 1) / 2
		if !s[j].at.Before(s[p].at) {
			break
		}
		s[j], s[p] = s[p], s[j]
		j = p
	}
}

func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// add starts waiting for call id of incarnation inc of proc, for timeout.
func (c *callWaits) add(proc *Process, inc, id uint64, timeout time.Duration) {
	if c.live == nil {
		c.live = make(map[uint64]time.Duration)
	}
	c.live[id] = timeout
	at := time.Now().Add(timeout)
	c.dues.push(due{at: at, id: id})
	if len(c.dues) > 2*len(c.live)+16 {
		c.compact()
	}
	c.arm(proc, inc)
}

// arm sets the timer for the earliest deadline, if it is not set sooner.
func (c *callWaits) arm(proc *Process, inc uint64) {
	if len(c.dues) == 0 {
		return
	}
	next := c.dues[0].at
	if !c.at.IsZero() && !next.Before(c.at) {
		return
	}
	c.at = next
	d := time.Until(next)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, func() { proc.tell(&callsDue{inc: inc}) })
	} else {
		c.timer.Reset(d)
	}
}

// done stops waiting for call id; it reports whether the call was waiting.
func (c *callWaits) done(id uint64) bool {
	if _, ok := c.live[id]; !ok {
		return false
	}
	delete(c.live, id)
	return true
}

// expired takes the calls whose deadline has passed out of the set, calls
// fail for each with its error, and sets the timer for the next deadline.
func (c *callWaits) expired(proc *Process, inc uint64, fail func(id uint64, err error)) {
	c.at = time.Time{}
	now := time.Now()
	for len(c.dues) > 0 && !c.dues[0].at.After(now) {
		d := heap.Pop(&c.dues).(due)
		if timeout, ok := c.live[d.id]; ok {
			delete(c.live, d.id)
			fail(d.id, fmt.Errorf("%w after %v", isolate.ErrCallTimeout, timeout))
		}
	}
	c.arm(proc, inc)
}

// compact drops the heap entries of answered calls.
func (c *callWaits) compact() {
	kept := c.dues[:0]
	for _, d := range c.dues {
		if _, ok := c.live[d.id]; ok {
			kept = append(kept, d)
		}
	}
	clear(c.dues[len(kept):])
	c.dues = kept
	heap.Init(&c.dues)
}

// stop forgets every call and stops the timer.
func (c *callWaits) stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.live, c.dues, c.at = nil, nil, time.Time{}
}
