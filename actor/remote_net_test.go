package actor_test

import (
	"crypto/rand"
	"encoding/binary"
	"sync"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// memNet connects nodes in one process for tests: a wire.Transport per
// node incarnation. Each ordered pair of live incarnations has a link, a
// bounded queue and one goroutine that hands the receiver, in order, the
// frames and the membership news (PeerUp, PeerDown) of the sender. Every
// frame is deep-copied, so no memory is shared between nodes. A frame
// stays in its link's window until the receiver has handled it, and
// longer while the receiver holds the sender back (wire.Holder), as with
// cluster.Transport.
type memNet struct {
	mu    sync.Mutex
	ends  map[string]*memEnd // the current incarnation of each node
	links map[linkID]*memLink
	wg    sync.WaitGroup
	gate  sync.RWMutex                         // held by pause: no link delivers
	size  int                                  // each link's queue
	spy   func(from, to string, f *wire.Frame) // sees every frame sent, if set
}

// tap makes f see every frame sent from now on.
func (m *memNet) tap(f func(from, to string, f *wire.Frame)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.spy = f
}

type linkID struct{ from, to *memEnd }

type memLink struct {
	ch      chan func()
	unacked int // frames sent and not acknowledged; guarded by memNet.mu
	held    int // of those, the ones handled while the receiver held the sender back
	// credits are what the unacknowledged frames hold of their senders
	// (wire.Tracker), oldest first; guarded by memNet.mu
	credits []memCredit
}

type memCredit struct {
	c wire.Credit
	n int64
}

// acked gives back the credits of the k oldest frames in flight on l.
// memNet.mu must be held.
func (l *memLink) acked(k int) {
	k = min(k, len(l.credits))
	for _, cr := range l.credits[:k] {
		if cr.c != nil {
			cr.c.Credit(cr.n)
		}
	}
	l.credits = l.credits[k:]
}

// memEnd is one incarnation of a node on the net.
type memEnd struct {
	net     *memNet
	name    string
	inc     uint64
	h       wire.Handler
	started bool
	cut     bool
}

func newMemNet() *memNet {
	return &memNet{ends: make(map[string]*memEnd), links: make(map[linkID]*memLink), size: 4096}
}

// join makes a new incarnation of node name; it reaches the others once
// started. A running incarnation of that name is lost first.
func (m *memNet) join(name string) *memEnd {
	var b [8]byte
	_, _ = rand.Read(b[:])
	e := &memEnd{net: m, name: name, inc: binary.LittleEndian.Uint64(b[:]) | 1}
	m.mu.Lock()
	old := m.ends[name]
	m.ends[name] = e
	if old != nil {
		m.cutLocked(old)
	}
	m.mu.Unlock()
	return e
}

// Start implements what cluster.Transport's Start does: from now on the
// node's handler receives frames and membership news.
func (e *memEnd) Start(h wire.Handler) {
	m := e.net
	m.mu.Lock()
	defer m.mu.Unlock()
	e.h, e.started = h, true
	for _, o := range m.ends {
		if o == e || !o.started || o.cut {
			continue
		}
		oe := m.open(o, e)
		eo := m.open(e, o)
		o, e := o, e
		oe.ch <- func() { e.h.PeerUp(o.name, o.inc) }
		eo.ch <- func() { o.h.PeerUp(e.name, e.inc) }
	}
}

func (m *memNet) open(from, to *memEnd) *memLink {
	l := &memLink{ch: make(chan func(), m.size+2)}
	m.links[linkID{from, to}] = l
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for f := range l.ch {
			m.gate.RLock()
			f()
			m.gate.RUnlock()
		}
	}()
	return l
}

// pause stops every link's deliveries until resume, as a slow network
// would; senders keep queueing until their queue is full.
func (m *memNet) pause()  { m.gate.Lock() }
func (m *memNet) resume() { m.gate.Unlock() }

// cut isolates name's current incarnation, as a crash or a partition
// would: the others see it down, it sees them down, frames in flight
// before the cut are delivered, none after.
func (m *memNet) cut(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.ends[name]; e != nil {
		m.cutLocked(e)
	}
}

func (m *memNet) cutLocked(e *memEnd) {
	if e.cut {
		return
	}
	e.cut = true
	for id, l := range m.links {
		if id.from != e && id.to != e {
			continue
		}
		from, to := id.from, id.to
		l.ch <- func() { to.h.PeerDown(from.name, from.inc) }
		close(l.ch)
		l.acked(len(l.credits)) // lost with the link
		delete(m.links, id)
	}
}

// close ends every link and waits for their goroutines.
func (m *memNet) close() {
	m.mu.Lock()
	for id, l := range m.links {
		close(l.ch)
		l.acked(len(l.credits))
		delete(m.links, id)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// Self implements wire.Transport.
func (e *memEnd) Self() string { return e.name }

// Incarnation implements wire.Transport.
func (e *memEnd) Incarnation() uint64 { return e.inc }

// Send implements wire.Transport.
func (e *memEnd) Send(peer string, f *wire.Frame) error { return e.SendTracked(peer, f, nil, 0) }

// SendTracked implements wire.Tracker: the frame holds n of c until it
// is acknowledged, or its link is cut.
func (e *memEnd) SendTracked(peer string, f *wire.Frame, c wire.Credit, n int64) error {
	m := e.net
	m.mu.Lock()
	defer m.mu.Unlock()
	to := m.ends[peer]
	if to == nil {
		return wire.ErrNoConnection
	}
	l := m.links[linkID{e, to}]
	if l == nil {
		return wire.ErrNoConnection
	}
	if l.unacked >= m.size {
		return wire.ErrBackpressure // two places stay for membership news
	}
	cp := copyFrame(f)
	from := e.name
	if m.spy != nil {
		m.spy(from, peer, f)
	}
	select {
	case l.ch <- func() { to.h.Deliver(from, cp); m.ack(l, from, to) }:
		l.unacked++
		l.credits = append(l.credits, memCredit{c, n})
		return nil
	default:
		return wire.ErrBackpressure
	}
}

// ack acknowledges a frame l delivered to to, unless to holds from back.
func (m *memNet) ack(l *memLink, from string, to *memEnd) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l.held++
	if hd, ok := to.h.(wire.Holder); ok && hd.Holding(from) {
		return
	}
	l.unacked -= l.held
	l.acked(l.held)
	l.held = 0
}

// Release implements wire.Releaser: what e handled from peer while it
// held peer back is acknowledged.
func (e *memEnd) Release(peer string) {
	m := e.net
	m.mu.Lock()
	defer m.mu.Unlock()
	from := m.ends[peer]
	l := m.links[linkID{from, e}]
	if l == nil {
		return
	}
	if hd, ok := e.h.(wire.Holder); ok && hd.Holding(peer) {
		return
	}
	l.unacked -= l.held
	l.acked(l.held)
	l.held = 0
}

// Peer implements wire.Transport.
func (e *memEnd) Peer(peer string) (uint64, bool) {
	m := e.net
	m.mu.Lock()
	defer m.mu.Unlock()
	to := m.ends[peer]
	if to == nil || m.links[linkID{e, to}] == nil {
		return 0, false
	}
	return to.inc, true
}

// copyFrame deep-copies f, as encoding and decoding it would.
func copyFrame(f *wire.Frame) *wire.Frame {
	cp := *f
	if f.Env != nil {
		env := &wire.Envelope{Data: append([]byte(nil), f.Env.Data...)}
		if f.Env.Caps != nil {
			env.Caps = append([]wire.Ref(nil), f.Env.Caps...)
		}
		cp.Env = env
	}
	if f.Err != nil {
		e := *f.Err
		cp.Err = &e
	}
	return &cp
}
