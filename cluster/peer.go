package cluster

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// goneKept is how many lost incarnations of one peer are remembered, so
// that their late messages are dropped instead of bringing them back.
const goneKept = 8

// peer is one other node: its liveness and its outbound queue.
type peer struct {
	t       *Transport
	name    string
	subject string // P.f.<name>.<self>: where this node's messages to it go
	wake    chan struct{}
	release atomic.Bool // the handler released it: acknowledge at once (Transport.Release)

	mu  sync.Mutex
	inc uint64
	up  bool
	// The queue: encoded frames, oldest first, each as a batch carries
	// it (its length as a varint, then the frame), back to back in
	// qbuf[qoff:]; qlens[head:] are the frames' lengths (prefix
	// excluded), so publishOne copies
	// whole frames into a batch without a buffer per frame.
	qbuf     []byte
	qoff     int
	qlens    []int32
	qcred    []credit // the credit each queued frame holds, parallel to qlens (wire.Tracker)
	head     int
	qBytes   int    // the bytes of the waiting frames, length prefixes excluded
	sentOff  uint64 // batch bytes published to this incarnation
	ackedOff uint64 // batch bytes it acknowledged
	closed   bool   // the transport closed: nothing more is queued
	stalled  bool   // the window is full with frames waiting
	stallAt  time.Time
	ackWait  time.Time // since when the oldest unacknowledged byte awaits its ack (or the last hold notice)
	// inflight are the credits of the frames published and not yet
	// acknowledged, oldest first, with the end offset of their batch.
	inflight []sentCredit

	st peerCounters // this peer's share of the transport's counters; see peerstats.go

	// guarded by t.deliverMu
	lastSeen       time.Time
	upAt           time.Time // when an incarnation was last brought up
	gone           [goneKept]uint64
	goneNext       int
	lastGoneNotice time.Time
	leaving        bool   // its leaving heartbeat came: lose it at the next tick
	ackTicks       int    // ticks since the last ack this node sent it
	recvOff        uint64 // end offset of the last batch received from it
	ackedIn        uint64 // the offset this node last acknowledged
}

func newPeer(t *Transport, name string) *peer {
	return &peer{
		t:       t,
		name:    name,
		subject: t.framePrefix + name + "." + t.self,
		wake:    make(chan struct{}, 1),
	}
}

func (p *peer) state() (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inc, p.up
}

func (p *peer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// credit is what a queued frame holds of its sender (wire.Tracker).
type credit struct {
	c wire.Credit
	n int64
}

// sentCredit is the credit of a published frame, until its batch, which
// ends at offset end, is acknowledged.
type sentCredit struct {
	credit
	end uint64
}

// giveBack gives every credit in cs back. p.mu must be held, or cs
// owned by the caller.
func giveBack[C interface{ back() }](cs []C) {
	for i := range cs {
		cs[i].back()
	}
	clear(cs)
}

func (c credit) back() {
	if c.c != nil {
		c.c.Credit(c.n)
	}
}

// ackedCredits gives back the credits of the frames in batches up to
// off. p.mu must be held.
func (p *peer) ackedCredits(off uint64) {
	k := 0
	for k < len(p.inflight) && p.inflight[k].end <= off {
		p.inflight[k].back()
		k++
	}
	if k == 0 {
		return
	}
	n := copy(p.inflight, p.inflight[k:])
	clear(p.inflight[n:])
	p.inflight = p.inflight[:n]
}

// dropCredits gives back every credit p holds: its frames, queued or in
// flight, are lost or will never be acknowledged. p.mu must be held.
func (p *peer) dropCredits() {
	giveBack(p.qcred[p.head:])
	p.qcred = p.qcred[:p.head]
	giveBack(p.inflight)
	p.inflight = p.inflight[:0]
}

// bringUp makes inc p's running incarnation. t.deliverMu must be held.
func (p *peer) bringUp(inc uint64) {
	p.mu.Lock()
	giveBack(p.inflight) // none: bringDown gave them back
	p.inflight = p.inflight[:0]
	p.inc, p.up = inc, true
	p.sentOff, p.ackedOff, p.stalled = 0, 0, false
	p.mu.Unlock()
	p.lastSeen, p.leaving = time.Now(), false
	p.upAt = p.lastSeen
	p.recvOff, p.ackedIn, p.ackTicks = 0, 0, 0
}

// bringDown marks incarnation inc lost and drops the frames queued for it.
// t.deliverMu must be held.
func (p *peer) bringDown(inc uint64) {
	p.mu.Lock()
	if p.up && p.inc == inc {
		p.up = false
		p.t.st.dropPeerLost.Add(uint64(len(p.qlens) - p.head))
		p.dropCredits()
		p.emptyQueue()
	}
	p.mu.Unlock()
	p.markGone(inc)
	p.signal()
}

// markGone remembers inc as lost. t.deliverMu must be held.
func (p *peer) markGone(inc uint64) {
	if p.isGone(inc) {
		return
	}
	p.gone[p.goneNext] = inc
	p.goneNext = (p.goneNext + 1) % goneKept
}

// pardon forgets that inc was lost, so that its next message brings it
// up again. t.deliverMu must be held.
func (p *peer) pardon(inc uint64) {
	for i, g := range p.gone {
		if g == inc {
			p.gone[i] = 0
		}
	}
}

// isGone reports whether inc was lost. t.deliverMu must be held.
func (p *peer) isGone(inc uint64) bool {
	for _, g := range p.gone {
		if g == inc && inc != 0 {
			return true
		}
	}
	return false
}

// queueKeep is the largest queue buffer kept once the queue is empty (a
// window's worth: the queue grows past it only while the peer is slow);
// a larger one, grown by a burst, is let go.
const queueKeep = 4 << 20

// emptyQueue drops every queued frame. p.mu must be held.
func (p *peer) emptyQueue() {
	clear(p.qcred)
	p.qlens, p.qcred, p.head, p.qoff, p.qBytes = p.qlens[:0], p.qcred[:0], 0, 0, 0
	if cap(p.qbuf) > queueKeep {
		p.qbuf, p.qlens, p.qcred = nil, nil, nil
		return
	}
	p.qbuf = p.qbuf[:0]
}

// admits reports why a frame of n bytes would be refused now, or nil.
// p.mu must be held.
func (p *peer) admits(n int) error {
	if !p.up || p.closed {
		p.t.st.refusedNoConnection.Add(1)
		return fmt.Errorf("send to node %q: %w", p.name, wire.ErrNoConnection)
	}
	if len(p.qlens)-p.head >= p.t.cfg.QueueFrames || p.qBytes+n > p.t.cfg.QueueBytes {
		p.t.st.refusedBackpressure.Add(1)
		p.st.refusedBackpressure.Add(1)
		return fmt.Errorf("send to node %q: %w", p.name, wire.ErrBackpressure)
	}
	return nil
}

// precheck refuses a frame that could not be encoded or sent when the
// peer is down or its queue is full: that refusal comes first.
func (p *peer) precheck() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.admits(0)
}

// enqueue copies an encoded frame, which holds cr until it is
// acknowledged, to the end of the queue, or refuses it. b is not
// retained.
func (p *peer) enqueue(b []byte, cr credit) error {
	p.mu.Lock()
	if err := p.admits(len(b)); err != nil {
		p.mu.Unlock()
		return err
	}
	// With frames waiting already, run has been woken for them, and
	// publishes until none is left, or the window is full, and then an
	// acknowledgement wakes it: no need to wake it again.
	waiting := len(p.qlens) > p.head
	p.qbuf = binary.AppendUvarint(p.qbuf, uint64(len(b)))
	p.qbuf = append(p.qbuf, b...)
	p.qlens = append(p.qlens, int32(len(b)))
	p.qcred = append(p.qcred, cr)
	p.qBytes += len(b)
	p.mu.Unlock()
	if !waiting {
		p.signal()
	}
	return nil
}

// acked records that the peer acknowledged batch bytes up to off.
func (p *peer) acked(off uint64) {
	p.mu.Lock()
	if off > p.ackedOff && off <= p.sentOff {
		p.ackedOff, p.ackWait = off, time.Now()
		p.ackedCredits(off)
		if p.stalled {
			p.stallAt = time.Now()
		}
	}
	p.mu.Unlock()
	p.signal()
}

// held records that the peer, alive, holds this node's window shut on
// purpose: the wait for its acknowledgement starts anew, so unstall does
// not take the silence for lost acks.
func (p *peer) held() {
	p.mu.Lock()
	p.ackWait = time.Now()
	if p.stalled {
		p.stallAt = time.Now()
	}
	p.mu.Unlock()
}

// unstall reopens p's window if it has been full, with no ack, for
// longer than after: batches or acks were lost on the way (as when the
// connection to the server was lost), and the peer, still alive, will
// never acknowledge them. So it does, and gives their credits back, when
// tracked frames (wire.Tracker) have waited that long for their ack with
// the window not full: a peer acknowledges what it received at every
// heartbeat, and a hold notice restarts the wait. It reports whether it
// did.
func (p *peer) unstall(now time.Time, after time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	full := p.stalled && now.Sub(p.stallAt) > after
	unacked := len(p.inflight) > 0 && p.sentOff > p.ackedOff && now.Sub(p.ackWait) > after
	if !full && !unacked {
		return false
	}
	p.ackedOff, p.stalled = p.sentOff, false
	giveBack(p.inflight) // their acknowledgements will never come
	p.inflight = p.inflight[:0]
	p.signal()
	return true
}

// run publishes p's queued frames in batches, in order, while p's window
// has room.
func (p *peer) run() {
	defer p.t.wg.Done()
	var msg []byte
	for {
		select {
		case <-p.t.quit:
			return
		case <-p.wake:
		}
		for p.publishOne(&msg) {
			select {
			case <-p.t.quit:
				return
			default:
			}
		}
	}
}

// publishOne publishes one batch of queued frames; it reports false when
// there is nothing to publish or the window is full.
func (p *peer) publishOne(msg *[]byte) bool {
	t := p.t
	p.mu.Lock()
	if !p.up || len(p.qlens) == p.head {
		p.mu.Unlock()
		return false
	}
	room := int64(t.cfg.Window) - int64(p.sentOff-p.ackedOff)
	if room <= 0 {
		if !p.stalled {
			p.stalled, p.stallAt = true, time.Now()
			t.st.windowStalls.Add(1)
			p.st.windowStalls.Add(1)
		}
		p.mu.Unlock()
		return false
	}
	p.stalled = false
	limit := int(min(room, int64(t.maxBatch)))
	// The batch: its version byte, then whole frames while they fit (the
	// first one always).
	size, frameBytes, i := 1, 0, p.head
	for ; i < len(p.qlens); i++ {
		l := int(p.qlens[i])
		if i > p.head && (size+uvarintLen(l)+l > limit || i-p.head == wire.MaxBatchFrames) {
			break
		}
		size += uvarintLen(l) + l
		frameBytes += l
	}
	n := i - p.head
	body := p.qbuf[p.qoff : p.qoff+size-1]
	if p.sentOff == p.ackedOff {
		p.ackWait = time.Now() // the first byte in flight
	}
	p.sentOff += uint64(size)
	for j := p.head; j < i; j++ {
		if cr := p.qcred[j]; cr.c != nil {
			p.inflight = append(p.inflight, sentCredit{credit: cr, end: p.sentOff})
			p.qcred[j] = credit{}
		}
	}
	batchEnd, batchInc := p.sentOff, p.inc
	h := header{typ: msgBatch, src: t.inc, dst: p.inc, off: p.sentOff}
	*msg = append(appendHeader((*msg)[:0], h), wire.BatchVersion)
	*msg = append(*msg, body...)
	p.qBytes -= frameBytes
	p.head, p.qoff = i, p.qoff+len(body)
	switch {
	case p.head == len(p.qlens):
		p.emptyQueue()
	case p.head >= len(p.qlens)/2:
		// slide the waiting frames to the front so appends reuse the arrays
		k := copy(p.qlens, p.qlens[p.head:])
		copy(p.qcred, p.qcred[p.head:])
		clear(p.qcred[k:])
		p.qlens, p.qcred, p.head = p.qlens[:k], p.qcred[:k], 0
		m := copy(p.qbuf, p.qbuf[p.qoff:])
		p.qbuf, p.qoff = p.qbuf[:m], 0
	}
	p.mu.Unlock()

	if err := t.nc.Publish(p.subject, *msg); err != nil {
		// No acknowledgement will name these frames: give their
		// credits back now.
		p.mu.Lock()
		if p.up && p.inc == batchInc { // else bringDown gave them back
			for k := range p.inflight {
				if e := &p.inflight[k]; e.end == batchEnd {
					e.back()
					e.c = nil
				}
			}
		}
		p.mu.Unlock()
		t.st.dropPublish.Add(uint64(n))
		t.cfg.Logger.Warn("cluster: publish failed; frames dropped", "node", p.name, "frames", n, "err", err)
		return true
	}
	t.st.batchesOut.Add(1)
	t.st.framesOut.Add(uint64(n))
	t.st.bytesOut.Add(uint64(len(*msg)))
	p.st.framesOut.Add(uint64(n))
	p.st.bytesOut.Add(uint64(len(*msg)))
	return true
}

// uvarintLen is the length of n's varint encoding.
func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}
