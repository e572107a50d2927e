package actor

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// Backpressure across nodes. On one node a send to a full mailbox throws
// MailboxFull in the sender, and nothing is lost. A message from another
// node has already left its sender when it arrives, so a full mailbox
// (overflow reject) does not refuse it here: the frame is parked, in a
// queue per peer node and target process, and every later send or call
// from that peer to that process queues behind it, in arrival order.
// While a peer has frames parked for any process the node holds it back
// (wire.Holder): the transport stops acknowledging its frames, its window
// to this node fills, and its next sends throw MailboxFull in their
// senders, as on one node. Parked frames are retried when a mailbox of
// this node releases a message (and every flowRetry while any is parked),
// in order per target; once none is left the node releases the peer
// (wire.Releaser).
//
// Order is kept per pair of sender and receiver (and more: per peer node
// and receiver), not across receivers: a full mailbox holds up the
// peer's messages to that process only, and those to other processes are
// delivered as they come, as they would be on one node (where the send to
// the full mailbox would have thrown instead). Exits, kills, monitors,
// links, answers and spawns are not held. So that a process that never
// empties its mailbox cannot hold a whole peer back for good, a mailbox
// that takes none of a peer's parked messages for parkWait has them all
// refused, and is marked stuck: until it takes a message again, what it
// cannot take is refused at once, as before parking existed. A frame whose
// target has ended meanwhile is answered noproc, as it would have been on
// arrival. The parked frames are bounded per peer and for the node; past
// a bound a frame is refused as before, with MailboxFull, and counted
// (LimitHit). A drop_oldest mailbox never parks: it drops, as on one node.
// Frames parked for a peer that is lost are dropped.

// Bounds of the parked frames. A peer held back has at most its
// transport's window in flight (4 MiB by default): some 65,000 frames of
// the smallest messages, which the bounds per peer take; the bound of the
// node is reached only with several peers held at once.
const (
	maxParkedFrames = 1 << 17   // per peer
	maxParkedBytes  = 48 << 20  // per peer, messages and bookkeeping
	maxParkedTotal  = 128 << 20 // for the node
	parkOverhead    = 256       // the bookkeeping of one parked frame, in bytes
	flowRetry       = 5 * time.Millisecond
	parkWait        = isolate.DefaultCallTimeout // a stuck mailbox holds up its peer at most this long
	maxStuck        = 1024                       // processes remembered as stuck; past it all are forgotten
)

// flow is a clustered node's parked frames.
type flow struct {
	kick    chan struct{} // a mailbox released a message: retry
	waiting atomic.Bool   // something is parked; Process.release kicks

	// mu is taken inside the transport's locks (Holding) and outside
	// remote.mu: nothing calls the transport while holding it.
	mu        sync.Mutex
	peers     map[string]*peerPark // only peers with frames parked
	total     int64                // the cost of every parked frame
	running   bool                 // the retry loop runs
	maxFrames int                  // per peer: maxParkedFrames but in tests
	maxCost   int64                // per peer: maxParkedBytes but in tests
	maxWait   time.Duration        // parkWait but in tests
	stuck     map[*Process]bool    // mailboxes that took nothing for maxWait; see refuseStuck
	spare     *parkChunk           // chunks emptied, for the next frames parked (freeChunk)
	nspare    int                  // chunks in spare
	nstuck    atomic.Int32         // len(stuck), read without mu
	targets   []*Process           // drain's list of targets, reused (the retry loop's alone)
}

// peerPark is one peer's parked frames: a queue per target process, and
// their count and cost, which the bounds per peer apply to.
type peerPark struct {
	q    map[*Process]*parkQ // only targets with frames parked
	n    int
	cost int64
}

// parkQ is one peer's parked frames for one target, oldest first, in a
// list of chunks: a frame parks and leaves without the queue's frames
// being moved, and the chunks emptied serve again (flow.spare).
type parkQ struct {
	head, tail *parkChunk
	hi, ti     int // the first frame's index in head; the next free slot's in tail
	n          int
	since      time.Time // when the first frame became first, or first found its mailbox full; zero until then
}

// parkChunkLen is how many frames one chunk of a parkQ holds.
const parkChunkLen = 256

type parkChunk struct {
	it   [parkChunkLen]parked
	next *parkChunk
}

// parked is a send or call a full mailbox keeps waiting.
type parked struct {
	// what a refusal needs of the frame
	kind wire.Kind
	id   uint64
	from string

	op   string
	c    *capability.Capability
	d    *deliver
	cost int64
}

func (q *parkQ) len() int { return q.n }

// first is the oldest frame of q, which has one.
func (q *parkQ) first() *parked { return &q.head.it[q.hi] }

// push parks it at the end of q. fl.mu must be held.
func (fl *flow) push(q *parkQ, it parked) {
	if q.tail == nil || q.ti == parkChunkLen {
		c := fl.newChunk()
		if q.tail == nil {
			q.head, q.hi = c, 0
		} else {
			q.tail.next = c
		}
		q.tail, q.ti = c, 0
	}
	q.tail.it[q.ti] = it
	q.ti++
	q.n++
}

// pop drops the oldest frame of q, which has one. fl.mu must be held.
func (fl *flow) pop(q *parkQ) {
	q.head.it[q.hi] = parked{}
	q.hi++
	q.n--
	switch {
	case q.n == 0:
		c := q.head
		q.head, q.tail, q.hi, q.ti = nil, nil, 0, 0
		fl.freeChunk(c)
	case q.hi == parkChunkLen:
		c := q.head
		q.head, q.hi = c.next, 0
		fl.freeChunk(c)
	}
}

// frame is what a refusal of it needs of its frame.
func (it *parked) frame() *wire.Frame {
	return &wire.Frame{Kind: it.kind, ID: it.id, From: it.from}
}

// maxSpareChunks bounds the emptied chunks a flow keeps for the next
// frames parked: 1<<16 frames' worth.
const maxSpareChunks = (1 << 16) / parkChunkLen

// newChunk returns an empty chunk. fl.mu must be held.
func (fl *flow) newChunk() *parkChunk {
	c := fl.spare
	if c == nil {
		return new(parkChunk)
	}
	fl.spare, c.next = c.next, nil
	fl.nspare--
	return c
}

// freeChunk keeps c, whose frames have all left (pop cleared them), for
// newChunk. fl.mu must be held.
func (fl *flow) freeChunk(c *parkChunk) {
	if fl.nspare >= maxSpareChunks {
		return
	}
	c.next = fl.spare
	fl.spare = c
	fl.nspare++
}

// Holding implements wire.Holder: the node holds peer back while frames
// it sent are parked.
func (n *Node) Holding(peer string) bool {
	r := n.remote
	if r == nil {
		return false
	}
	r.flow.mu.Lock()
	defer r.flow.mu.Unlock()
	return r.flow.peers[peer] != nil
}

// wake tells the retry loop that a mailbox has room again.
func (fl *flow) wake() {
	if fl.waiting.Load() {
		select {
		case fl.kick <- struct{}{}:
		default:
		}
	}
}

// queue returns peer's queue of frames for t, or nil. fl.mu must be held.
func (fl *flow) queue(peer string, t *Process) *parkQ {
	if pp := fl.peers[peer]; pp != nil {
		return pp.q[t]
	}
	return nil
}

// offer delivers a send or call peer sent, resolved to c, or parks it
// behind the frames of peer parked for the same target, or because the
// target's mailbox is full. Called from Deliver, so never concurrently.
func (r *remote) offer(peer string, f *wire.Frame, op string, c *capability.Capability, d *deliver) {
	fl := &r.flow
	d.parking = true
	t, _ := c.Target().(*Process) // only a local process's frames park
	// Only offer makes queues, and it sets waiting first; so with nothing
	// parked anywhere this frame has none to queue behind.
	if t != nil && fl.waiting.Load() {
		fl.mu.Lock()
		if fl.queue(peer, t) != nil {
			err := r.parkLocked(peer, t, f, op, c, d)
			fl.mu.Unlock()
			if err != nil {
				r.refuseFull(peer, f, c, err)
			}
			return
		}
		fl.mu.Unlock()
	}
	err := r.n.signal(c, capability.Send, op, d)
	if err == nil {
		fl.unstuck(c)
		return
	}
	if parkable(c, d, err) && !fl.isStuck(c) {
		r.admitPeer(peer) // not under fl.mu: it asks the transport
		fl.mu.Lock()
		err = r.parkLocked(peer, t, f, op, c, d)
		fl.mu.Unlock()
		if err == nil {
			return
		}
	}
	r.refuseFull(peer, f, c, err)
}

// parkable reports whether err is c's local target refusing d for being
// full now, under the reject policy, with d small enough to fit later.
func parkable(c *capability.Capability, d *deliver, err error) bool {
	var le *mailbox.LimitError
	if !errors.As(err, &le) || le.Limit != mailbox.LimitMailbox {
		return false
	}
	t, ok := c.Target().(*Process)
	if !ok {
		return false
	}
	lim := t.mb.Limits()
	return lim.Overflow == mailbox.Reject && d.size <= lim.Bytes
}

// parkLocked queues a frame for t, c's target, at the end of peer's queue
// for t (made if need be), or refuses past the bounds. fl.mu must be held.
func (r *remote) parkLocked(peer string, t *Process, f *wire.Frame, op string, c *capability.Capability, d *deliver) error {
	fl := &r.flow
	cost := int64(d.env.Size()) + parkOverhead
	pp := fl.peers[peer]
	if pp == nil {
		if _, up := r.peerInc(peer); !up {
			return fmt.Errorf("%s: %w: node %s", op, isolate.ErrNoConnection, peer)
		}
		pp = &peerPark{}
	}
	switch {
	case pp.n >= fl.maxFrames || pp.cost+cost > fl.maxCost:
		return fmt.Errorf("%s: %w: %d messages (%d bytes) from node %s wait here for full mailboxes; the limit is %d messages, %d bytes",
			op, isolate.ErrMailboxFull, pp.n, pp.cost, peer, fl.maxFrames, fl.maxCost)
	case fl.total+cost > maxParkedTotal:
		return fmt.Errorf("%s: %w: %d bytes of messages from other nodes wait here for full mailboxes; the limit is %d",
			op, isolate.ErrMailboxFull, fl.total, maxParkedTotal)
	}
	if pp.n == 0 {
		if fl.peers == nil {
			fl.peers = make(map[string]*peerPark)
		}
		pp.q = make(map[*Process]*parkQ)
		fl.peers[peer] = pp
	}
	q := pp.q[t]
	if q == nil {
		q = &parkQ{since: time.Now()} // its first frame found the mailbox full
		pp.q[t] = q
	}
	fl.push(q, parked{kind: f.Kind, id: f.ID, from: f.From, op: op, c: c, d: d, cost: cost})
	pp.n++
	pp.cost += cost
	fl.total += cost
	fl.waiting.Store(true)
	if !fl.running {
		fl.running = true
		go r.retryLoop()
	}
	return nil
}

// popFirst drops the first frame of peer's queue q for t, whose cost is
// cost, and the queue and the peer's entry once empty. It reports whether
// peer has no frame parked left. fl.mu must be held.
func (fl *flow) popFirst(peer string, pp *peerPark, t *Process, q *parkQ, cost int64) (empty bool) {
	fl.pop(q)
	pp.n--
	pp.cost -= cost
	fl.total -= cost
	q.since = time.Time{} // the next one's wait starts when it first finds its mailbox full (refuseStuck)
	if q.len() == 0 {
		delete(pp.q, t)
	}
	if pp.n == 0 {
		delete(fl.peers, peer)
		return true
	}
	return false
}

// peerInc reports whether peer is up, as remote.up does.
func (r *remote) peerInc(peer string) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inc, ok := r.peers[peer]
	return inc, ok
}

// refuseFull refuses a send or call as Deliver would have, counting a
// full mailbox on this node (Process.admit leaves that to the flow).
func (r *remote) refuseFull(peer string, f *wire.Frame, c *capability.Capability, err error) {
	if errors.Is(err, isolate.ErrMailboxFull) {
		path := ""
		if t, ok := c.Target().(*Process); ok {
			path = t.path
		}
		r.n.emit(LimitHit{Path: path, Limit: mailbox.LimitMailbox, Err: fmt.Errorf("from node %s: %w", peer, err)})
	}
	r.refuse(peer, f, err)
}

// retryLoop retries the parked frames while any is parked. While a frame
// is parked, running is set and a loop looks at fl.peers again within
// flowRetry: parkLocked starts one, under fl.mu, if none runs, and the
// loop stops only under the same hold of fl.mu in which it finds nothing
// parked. So a kick lost (wake finding waiting unset, or one already
// pending) delays the retry by flowRetry at most. A peer's entry leaves
// fl.peers only with its last frame, and whoever takes it out releases
// the peer (drainTarget), but for a lost peer (dropParked).
func (r *remote) retryLoop() {
	fl := &r.flow
	tk := time.NewTicker(flowRetry)
	defer tk.Stop()
	for {
		select {
		case <-fl.kick:
		case <-tk.C:
		}
		fl.mu.Lock()
		peers := make([]string, 0, len(fl.peers))
		for p := range fl.peers {
			peers = append(peers, p)
		}
		fl.mu.Unlock()
		for _, p := range peers {
			r.drain(p)
		}
		fl.mu.Lock()
		if len(fl.peers) == 0 {
			fl.running = false
			fl.waiting.Store(false)
			fl.mu.Unlock()
			return
		}
		fl.mu.Unlock()
	}
}

// drain delivers peer's parked frames, in order for each target, until
// the first for each target still finds its mailbox full; it releases the
// peer once none is left.
func (r *remote) drain(peer string) {
	fl := &r.flow
	fl.mu.Lock()
	pp := fl.peers[peer]
	if pp == nil {
		fl.mu.Unlock()
		return
	}
	ts := fl.targets[:0]
	for t := range pp.q {
		ts = append(ts, t)
	}
	fl.mu.Unlock()
	for _, t := range ts {
		if r.drainTarget(peer, pp, t) {
			break
		}
	}
	clear(ts)
	fl.targets = ts[:0]
}

// drainTarget delivers peer's parked frames for t in order until one still
// finds its mailbox full. It reports whether the peer has none parked
// left, and was released.
func (r *remote) drainTarget(peer string, pp *peerPark, t *Process) (released bool) {
	fl := &r.flow
	fl.mu.Lock()
	for {
		q := pp.q[t]
		if fl.peers[peer] != pp || q == nil {
			fl.mu.Unlock()
			return false // the peer was lost meanwhile, or t's frames refused
		}
		it := *q.first()
		fl.mu.Unlock()

		err := r.n.signal(it.c, capability.Send, it.op, it.d)
		if err == nil {
			fl.unstuck(it.c)
		} else if parkable(it.c, it.d, err) && !fl.isStuck(it.c) {
			if done, refused := r.refuseStuck(peer, pp, t); refused {
				if done {
					r.release(peer)
				}
				return done
			}
			return false // still full: it stays first
		}
		// Delivered, or refused: for good, or because its target is stuck.
		fl.mu.Lock()
		done := false
		if fl.peers[peer] == pp && pp.q[t] == q {
			done = fl.popFirst(peer, pp, t, q, it.cost)
		}
		if err == nil && !done {
			continue // the next one, under the same hold of fl.mu
		}
		fl.mu.Unlock()
		if err != nil {
			r.refuseFull(peer, it.frame(), it.c, err)
		}
		if done {
			r.release(peer)
			return true
		}
		fl.mu.Lock()
	}
}

// release tells the transport that peer is held back no more.
func (r *remote) release(peer string) {
	if rel, ok := r.t.(wire.Releaser); ok {
		rel.Release(peer)
	}
}

// refuseStuck refuses every frame of peer's queue for t, if t has taken
// none of them for maxWait, and marks t stuck. refused reports whether it
// did, done whether peer has no frame parked left.
func (r *remote) refuseStuck(peer string, pp *peerPark, t *Process) (done, refused bool) {
	fl := &r.flow
	fl.mu.Lock()
	q := pp.q[t]
	if fl.peers[peer] != pp || q == nil {
		fl.mu.Unlock()
		return false, false
	}
	if q.since.IsZero() {
		q.since = time.Now()
	}
	if time.Since(q.since) < fl.maxWait {
		fl.mu.Unlock()
		return false, false
	}
	out := make([]parked, 0, q.len())
	for q.len() > 0 {
		it := *q.first()
		out = append(out, it)
		done = fl.popFirst(peer, pp, t, q, it.cost)
	}
	fl.markStuck(t)
	wait := fl.maxWait
	fl.mu.Unlock()
	for _, it := range out {
		err := fmt.Errorf("%s: %w: %s took none of the messages from node %s for %v", it.op, isolate.ErrMailboxFull, t.path, peer, wait)
		r.refuseFull(peer, it.frame(), it.c, err)
	}
	return done, true
}

// markStuck remembers t as stuck. fl.mu must be held.
func (fl *flow) markStuck(t *Process) {
	if len(fl.stuck) >= maxStuck {
		clear(fl.stuck) // forgotten, they park again, and time out again
	}
	if fl.stuck == nil {
		fl.stuck = make(map[*Process]bool)
	}
	fl.stuck[t] = true
	fl.nstuck.Store(int32(len(fl.stuck)))
}

// isStuck reports whether c's target is marked stuck.
func (fl *flow) isStuck(c *capability.Capability) bool {
	if fl.nstuck.Load() == 0 {
		return false
	}
	t, _ := c.Target().(*Process)
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.stuck[t]
}

// unstuck forgets that c's target was stuck: it took a message.
func (fl *flow) unstuck(c *capability.Capability) {
	if fl.nstuck.Load() == 0 {
		return
	}
	t, _ := c.Target().(*Process)
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.stuck[t] {
		delete(fl.stuck, t)
		fl.nstuck.Store(int32(len(fl.stuck)))
	}
}

// dropParked forgets the frames parked for peer, which is lost: nobody
// awaits their answers.
func (r *remote) dropParked(peer string) {
	fl := &r.flow
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if pp := fl.peers[peer]; pp != nil {
		fl.total -= pp.cost
		delete(fl.peers, peer)
	}
}
