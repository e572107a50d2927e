package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"

	"github.com/nats-io/nats.go"
)

// Transport carries frames between this node and its peers over NATS. It
// implements wire.Transport. Safe for concurrent use.
type Transport struct {
	cfg  Config
	inc  uint64
	nc   *nats.Conn
	self string

	framePrefix string // "P.f."
	hbPrefix    string // "P.hb."
	hbSubject   string // "P.hb.<self>"

	maxBatch int // the bytes of frames one batch may carry

	// deliverMu serializes everything inbound: message processing, the
	// liveness check, and so every call of h.
	deliverMu sync.Mutex
	h         wire.Handler
	holder    wire.Holder // h, if it may hold a peer back; see Release
	closing   bool        // guarded by deliverMu: no more handler calls
	hbBuf     []byte

	// For a handler that borrows frames (wire.Borrower), onFrameMsg
	// decodes every batch with dec, which lends the frames until they
	// are delivered; decMu is held from the decoding to the end of the
	// delivery, outside deliverMu.
	borrow bool
	decMu  sync.Mutex
	dec    wire.Decoder

	mu      sync.RWMutex
	peers   map[string]*peer
	started bool
	closed  bool
	subs    []*nats.Subscription
	// tab is a copy of peers and closed, replaced under mu whenever they
	// change, for the paths of every frame (SendTracked, peerFor), which
	// read it without taking mu: peers are added rarely, and both sending
	// processes and the receiving goroutine would otherwise write mu's
	// reader count for every frame.
	tab atomic.Pointer[peerTable]

	quit   chan struct{}
	ackNow chan struct{} // Release: acknowledge the released peers now
	wg     sync.WaitGroup

	st counters
}

// peerTable is what Transport.tab holds.
type peerTable struct {
	peers  map[string]*peer
	closed bool
}

// publishTable replaces t.tab with the current peers and closed. t.mu
// must be held for writing.
func (t *Transport) publishTable() {
	t.tab.Store(&peerTable{peers: maps.Clone(t.peers), closed: t.closed})
}

// lookup returns the peer named name, or nil, and whether the transport
// is closed, without t.mu.
func (t *Transport) lookup(name string) (*peer, bool) {
	tab := t.tab.Load()
	return tab.peers[name], tab.closed
}

// counters are the figures Stats reports.
type counters struct {
	framesOut, bytesOut, batchesOut          atomic.Uint64
	framesIn, bytesIn, batchesIn             atomic.Uint64
	acksOut, acksIn                          atomic.Uint64
	dropMalformed, dropStale, dropPeerLost   atomic.Uint64
	dropPublish, dropTooManyPeers            atomic.Uint64
	refusedBackpressure, refusedNoConnection atomic.Uint64
	windowStalls, windowResets               atomic.Uint64
	holdsOut, holdsIn                        atomic.Uint64
	permissionErrors                         atomic.Uint64
	slowConsumerErrors                       atomic.Uint64
}

// Stats is a snapshot of a transport's counters since Dial.
type Stats struct {
	FramesOut, BytesOut, BatchesOut uint64 // published: frames, batch bytes, batches
	FramesIn, BytesIn, BatchesIn    uint64 // delivered: frames, batch bytes, batches
	AcksOut, AcksIn                 uint64 // window acknowledgements sent and received

	DropsMalformed    uint64 // inbound messages that did not decode
	DropsStale        uint64 // inbound messages from a lost incarnation, for another incarnation of this node, or from a peer's new incarnation within a heartbeat interval of its last
	DropsPeerLost     uint64 // frames accepted by Send, then dropped because the peer was lost before they went out
	DropsPublish      uint64 // frames in batches the NATS client refused to publish
	DropsTooManyPeers uint64 // inbound messages from a node past MaxPeers
	DropsSlowConsumer uint64 // inbound messages NATS dropped because this node fell behind

	RefusedBackpressure uint64 // Send calls refused with ErrBackpressure
	RefusedNoConnection uint64 // Send calls refused with ErrNoConnection

	WindowStalls     uint64 // times a peer's window was full with frames waiting
	WindowResets     uint64 // windows reopened because a live peer acknowledged nothing for DeadAfter (acks or batches lost on the way)
	HoldsOut         uint64 // hold notices sent: this node's handler held a peer's window shut (wire.Holder)
	HoldsIn          uint64 // hold notices received: a peer held this node's window shut on purpose
	PermissionErrors uint64 // NATS permission violations reported to this node

	PeersUp int // peers reachable now
}

var (
	_ wire.Transport = (*Transport)(nil)
	_ wire.Tracker   = (*Transport)(nil)
)

// Dial checks cfg, picks this run's incarnation and connects to NATS. The
// transport delivers nothing and sees no peer until Start.
func Dial(cfg Config) (*Transport, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:         cfg,
		self:        cfg.Name,
		framePrefix: cfg.Prefix + ".f.",
		hbPrefix:    cfg.Prefix + ".hb.",
		hbSubject:   cfg.Prefix + ".hb." + cfg.Name,
		peers:       make(map[string]*peer),
		quit:        make(chan struct{}),
		ackNow:      make(chan struct{}, 1),
	}
	for t.inc == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("cluster: incarnation: %w", err)
		}
		t.inc = binary.LittleEndian.Uint64(b[:])
	}
	t.publishTable()
	opts := []nats.Option{
		nats.Name("cloister-" + cfg.Name),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.Heartbeat),
		nats.ErrorHandler(t.natsError),
	}
	switch {
	case cfg.TLS != nil:
		opts = append(opts, nats.Secure(cfg.TLS))
	default:
		if cfg.CertFile != "" {
			opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
		}
		if cfg.CAFile != "" {
			opts = append(opts, nats.RootCAs(cfg.CAFile))
		}
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect %s as %q: %w", strings.Join(cfg.URLs, ","), cfg.Name, err)
	}
	t.nc = nc
	t.maxBatch = min(cfg.MaxBatchBytes, int(nc.MaxPayload())-batchHeader)
	return t, nil
}

func (t *Transport) natsError(_ *nats.Conn, sub *nats.Subscription, err error) {
	switch {
	case errors.Is(err, nats.ErrSlowConsumer):
		t.st.slowConsumerErrors.Add(1)
		t.cfg.Logger.Warn("cluster: this node falls behind its peers; NATS drops messages", "err", err)
	case errors.Is(err, nats.ErrPermissionViolation):
		t.st.permissionErrors.Add(1)
		t.cfg.Logger.Error("cluster: NATS refused a subject", "err", err)
	default:
		t.cfg.Logger.Warn("cluster: NATS error", "err", err)
	}
}

// Start subscribes to this node's frames and to every heartbeat, starts
// the heartbeats and hands every frame, peer-up and peer-down to h from
// now on. h's methods are never called concurrently; they may call Send
// and Peer, never Close.
func (t *Transport) Start(h wire.Handler) error {
	if h == nil {
		return errors.New("cluster: start: no handler")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errors.New("cluster: start: transport closed")
	case t.started:
		return errors.New("cluster: start: already started")
	}
	// Set before the subscriptions and the ticker exist, so every later
	// reader of t.h sees it.
	t.h = h
	t.holder, _ = h.(wire.Holder)
	_, t.borrow = h.(wire.Borrower)
	frames, err := t.nc.Subscribe(t.framePrefix+t.self+".*", t.onFrameMsg)
	if err != nil {
		return fmt.Errorf("cluster: subscribe to frames: %w", err)
	}
	hb, err := t.nc.Subscribe(t.hbPrefix+"*", t.onHeartbeatMsg)
	if err != nil {
		_ = frames.Unsubscribe()
		return fmt.Errorf("cluster: subscribe to heartbeats: %w", err)
	}
	for _, s := range []*nats.Subscription{frames, hb} {
		if err := s.SetPendingLimits(-1, t.cfg.PendingBytes); err != nil {
			_ = frames.Unsubscribe()
			_ = hb.Unsubscribe()
			return fmt.Errorf("cluster: pending limits: %w", err)
		}
	}
	// The round trip makes sure the server has the subscriptions (and
	// has refused them, if this node may not hold them) before peers
	// learn of this node.
	if err := t.nc.Flush(); err != nil {
		_ = frames.Unsubscribe()
		_ = hb.Unsubscribe()
		return fmt.Errorf("cluster: subscribe: %w", err)
	}
	if err := t.nc.LastError(); errors.Is(err, nats.ErrPermissionViolation) &&
		(strings.Contains(err.Error(), strconv.Quote(frames.Subject)) || strings.Contains(err.Error(), strconv.Quote(hb.Subject))) {
		_ = frames.Unsubscribe()
		_ = hb.Unsubscribe()
		return fmt.Errorf("cluster: node %q may not subscribe to its subjects (does its certificate name another node?): %w", t.self, err)
	}
	t.subs = []*nats.Subscription{frames, hb}
	t.started = true
	t.publishHeartbeat(false)
	t.wg.Add(1)
	go t.tick()
	return nil
}

// Close stops the transport: it publishes the frames still queued as far
// as each peer's window allows (the rest are dropped), tells every peer
// this node is leaving, so they lose it at once, stops every goroutine of
// the transport and closes the connection. No handler call starts after
// Close begins, and none is running once it returns. Safe to call twice.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.publishTable()
	started := t.started
	subs := t.subs
	t.mu.Unlock()

	t.deliverMu.Lock()
	t.closing = true
	t.deliverMu.Unlock()

	close(t.quit)
	t.wg.Wait()
	// Without a connection (the server is gone and the client is
	// reconnecting) there is nobody to tell: peers find out from the
	// missing heartbeats, and Close does not wait on a flush.
	if started && t.nc.IsConnected() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
		// Publish what the windows let through, then tell each peer on
		// the subject of its frames, so the notice arrives after them.
		var msg []byte
		for _, p := range t.peerList() {
			for p.publishOne(&msg) {
			}
			if inc, up := p.state(); up {
				t.sendControl(p, msgLeave, inc)
			}
		}
		t.deliverMu.Lock()
		t.publishHeartbeat(true)
		t.deliverMu.Unlock()
		_ = t.nc.FlushTimeout(t.cfg.DeadAfter)
	}
	t.nc.Close()
	// Whatever was queued or in flight will be acknowledged by nobody.
	for _, p := range t.peerList() {
		p.mu.Lock()
		p.closed = true
		p.dropCredits()
		p.mu.Unlock()
	}
	return nil
}

// Self is this node's name.
func (t *Transport) Self() string { return t.self }

// Incarnation is this run's incarnation: 64 random bits picked at Dial.
func (t *Transport) Incarnation() uint64 { return t.inc }

// Peer reports whether peer is reachable now, and its incarnation.
func (t *Transport) Peer(name string) (inc uint64, up bool) {
	t.mu.RLock()
	p := t.peers[name]
	t.mu.RUnlock()
	if p == nil {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inc, p.up
}

// Peers returns the names of the peers reachable now, in no order.
func (t *Transport) Peers() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var names []string
	for name, p := range t.peers {
		p.mu.Lock()
		if p.up {
			names = append(names, name)
		}
		p.mu.Unlock()
	}
	return names
}

// Send encodes f and queues it for peer; it never blocks. It returns an
// error wrapping wire.ErrNoConnection if peer is not reachable,
// wire.ErrBackpressure if peer's queue is full, or a codec error
// (wire.ErrTooLarge, ...) if f cannot be encoded or is too large for the
// server; f was then not sent. Frames to one peer go out in the order
// Send accepted them. f is not retained.
// CopiesFrames implements wire.Copier: Send and SendTracked encode the
// frame before they return and keep nothing of it.
func (t *Transport) CopiesFrames() {}

func (t *Transport) Send(name string, f *wire.Frame) error {
	return t.SendTracked(name, f, nil, 0)
}

// SendTracked implements wire.Tracker: it is Send for a frame that
// holds n of c until peer has acknowledged the batch that carried it
// (acknowledgements come once the peer's handler has taken the frames,
// and not while it holds this node back), or until the frame is lost.
func (t *Transport) SendTracked(name string, f *wire.Frame, c wire.Credit, n int64) error {
	p, closed := t.lookup(name)
	if p == nil || closed {
		t.st.refusedNoConnection.Add(1)
		return fmt.Errorf("send to node %q: %w", name, wire.ErrNoConnection)
	}
	bp := encodeBufs.Get().(*[]byte)
	defer putEncodeBuf(bp)
	buf := *bp
	if need := frameSizeHint(f); cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	b, err := wire.AppendFrame(buf[:0], f)
	*bp = b[:0]
	// A frame that cannot be sent is refused for the peer's state first,
	// as if that were checked before encoding (enqueue checks it for the
	// others, under the one lock it takes).
	if err != nil {
		if perr := p.precheck(); perr != nil {
			return perr
		}
		return fmt.Errorf("send to node %q: %w", name, err)
	}
	// One frame alone in a batch must fit in a NATS message. A frame
	// that fits in a batch does (maxBatch is below the server's limit),
	// so the client's lock is taken only for larger ones.
	if n := batchHeader + 1 + binary.MaxVarintLen32 + len(b); n > t.maxBatch && n > int(t.nc.MaxPayload()) {
		if perr := p.precheck(); perr != nil {
			return perr
		}
		return fmt.Errorf("send to node %q: frame of %d bytes: %w (the NATS server takes %d)", name, len(b), wire.ErrTooLarge, t.nc.MaxPayload())
	}
	return p.enqueue(b, credit{c: c, n: n})
}

// encodeBufs holds the buffers Send encodes frames into before copying
// them into a peer's queue.
var encodeBufs = sync.Pool{New: func() any { return new([]byte) }}

// encodeBufKeep is the largest encoding buffer returned to encodeBufs.
const encodeBufKeep = 64 << 10

func putEncodeBuf(bp *[]byte) {
	if cap(*bp) <= encodeBufKeep {
		encodeBufs.Put(bp)
	}
}

// frameSizeHint is at least the encoded size of f (see wire's encoding),
// so that encoding it allocates once; it is bounded by the largest frame
// the codec encodes.
func frameSizeHint(f *wire.Frame) int {
	const fixed = 2 + 2*binary.MaxVarintLen64 + 2*binary.MaxVarintLen32 // kind, flags, id, depth, string lengths
	n := fixed + refSizeHint(&f.To) + len(f.From) + len(f.Reason)
	if e := f.Env; e != nil {
		n += 2*binary.MaxVarintLen32 + len(e.Data)
		for i := range e.Caps {
			if n > wire.MaxFrameSize {
				break
			}
			n += refSizeHint(&e.Caps[i])
		}
	}
	if e := f.Err; e != nil {
		n += 2 + 2*binary.MaxVarintLen32 + len(e.Message)
	}
	return min(n, wire.MaxFrameSize)
}

// refSizeHint is at least the encoded size of r.
func refSizeHint(r *wire.Ref) int {
	return 1 + 3*binary.MaxVarintLen32 + len(r.Node) + 8 + wire.TokenSize + len(r.Path)
}

// Stats returns a snapshot of the transport's counters.
func (t *Transport) Stats() Stats {
	s := Stats{
		FramesOut: t.st.framesOut.Load(), BytesOut: t.st.bytesOut.Load(), BatchesOut: t.st.batchesOut.Load(),
		FramesIn: t.st.framesIn.Load(), BytesIn: t.st.bytesIn.Load(), BatchesIn: t.st.batchesIn.Load(),
		AcksOut: t.st.acksOut.Load(), AcksIn: t.st.acksIn.Load(),
		DropsMalformed: t.st.dropMalformed.Load(), DropsStale: t.st.dropStale.Load(),
		DropsPeerLost: t.st.dropPeerLost.Load(), DropsPublish: t.st.dropPublish.Load(),
		DropsTooManyPeers:   t.st.dropTooManyPeers.Load(),
		RefusedBackpressure: t.st.refusedBackpressure.Load(), RefusedNoConnection: t.st.refusedNoConnection.Load(),
		WindowStalls: t.st.windowStalls.Load(), WindowResets: t.st.windowResets.Load(), PermissionErrors: t.st.permissionErrors.Load(),
		HoldsOut: t.st.holdsOut.Load(), HoldsIn: t.st.holdsIn.Load(),
	}
	t.mu.RLock()
	for _, sub := range t.subs {
		if n, err := sub.Dropped(); err == nil && n > 0 {
			s.DropsSlowConsumer += uint64(n)
		}
	}
	for _, p := range t.peers {
		if _, up := p.state(); up {
			s.PeersUp++
		}
	}
	t.mu.RUnlock()
	return s
}

// ackRepeatTicks is how many ticks pass before an ack is repeated.
const ackRepeatTicks = 4

// tick publishes heartbeats, finds silent peers and acknowledges what
// the last ticks received.
func (t *Transport) tick() {
	defer t.wg.Done()
	tk := time.NewTicker(t.cfg.Heartbeat)
	defer tk.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-t.ackNow:
			t.deliverMu.Lock()
			if t.closing {
				t.deliverMu.Unlock()
				return
			}
			t.ackReleased()
			t.deliverMu.Unlock()
			continue
		case <-tk.C:
		}
		t.deliverMu.Lock()
		if t.closing {
			t.deliverMu.Unlock()
			return
		}
		t.publishHeartbeat(false)
		now := time.Now()
		for _, p := range t.peerList() {
			inc, up := p.state()
			if !up {
				continue
			}
			switch {
			case p.leaving:
				t.cfg.Logger.Info("cluster: peer left", "node", p.name)
				t.lose(p, inc)
				continue
			case now.Sub(p.lastSeen) > t.cfg.DeadAfter:
				t.cfg.Logger.Warn("cluster: peer silent; lost", "node", p.name, "silent", now.Sub(p.lastSeen))
				t.lose(p, inc)
				continue
			}
			// Acknowledge what is new, and repeat the last ack now and
			// then in case it was lost on the way. A peer the handler
			// holds back is told so every tick instead, so that it keeps
			// its window shut without taking the silence for lost acks.
			p.ackTicks++
			switch {
			case t.holding(p):
				t.sendHold(p)
			case p.recvOff > p.ackedIn || (p.recvOff > 0 && p.ackTicks >= ackRepeatTicks):
				t.sendAck(p)
			}
			if p.unstall(now, t.cfg.DeadAfter) {
				t.st.windowResets.Add(1)
				t.cfg.Logger.Warn("cluster: no acknowledgement from a live peer; window reset", "node", p.name)
			}
		}
		t.deliverMu.Unlock()
	}
}

func (t *Transport) peerList() []*peer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ps := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		ps = append(ps, p)
	}
	return ps
}

// publishHeartbeat publishes this node's heartbeat. deliverMu must be held.
func (t *Transport) publishHeartbeat(leaving bool) {
	t.hbBuf = appendHeartbeat(t.hbBuf[:0], t.inc, leaving)
	if err := t.nc.Publish(t.hbSubject, t.hbBuf); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		t.cfg.Logger.Warn("cluster: heartbeat", "err", err)
	}
}

// peerFor returns the peer named name, creating it if the table has room.
func (t *Transport) peerFor(name string) *peer {
	if p, _ := t.lookup(name); p != nil {
		return p
	}
	if name == t.self || ValidName(name) != nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.peers[name]; p != nil {
		return p
	}
	if len(t.peers) >= t.cfg.MaxPeers || t.closed {
		return nil
	}
	p := newPeer(t, name)
	t.peers[name] = p
	t.publishTable()
	t.wg.Add(1)
	go p.run()
	return p
}

// onHeartbeatMsg handles a heartbeat on P.hb.<name>.
func (t *Transport) onHeartbeatMsg(m *nats.Msg) {
	name, ok := strings.CutPrefix(m.Subject, t.hbPrefix)
	if !ok || name == t.self {
		return
	}
	inc, leaving, err := parseHeartbeat(m.Data)
	if err != nil || ValidName(name) != nil {
		t.st.dropMalformed.Add(1)
		return
	}
	t.deliverMu.Lock()
	defer t.deliverMu.Unlock()
	if t.closing {
		return
	}
	p := t.peerFor(name)
	if p == nil {
		t.st.dropTooManyPeers.Add(1)
		return
	}
	if leaving {
		if cur, up := p.state(); up && cur == inc {
			// Its last frames and its leave notice travel on the frame
			// subscription and may still be on their way: lose it at
			// the next tick, unless the notice comes first.
			p.leaving = true
		} else {
			p.markGone(inc)
		}
		return
	}
	t.observe(p, inc)
}

// observe records that p's incarnation inc is alive, bringing it up (and
// a previous incarnation down) if need be. It reports false when inc was
// already lost: then the message is stale. deliverMu must be held.
func (t *Transport) observe(p *peer, inc uint64) bool {
	if p.isGone(inc) {
		t.st.dropStale.Add(1)
		t.tellGone(p, inc)
		return false
	}
	cur, up := p.state()
	if up && cur == inc {
		p.lastSeen = time.Now()
		return true
	}
	if !p.upAt.IsZero() && time.Since(p.upAt) < t.cfg.Heartbeat {
		// Another incarnation so soon after the last: a peer flapping,
		// or one forging incarnations to make this node drop what it
		// holds of it again and again. A later heartbeat brings it up.
		t.st.dropStale.Add(1)
		return false
	}
	if up {
		t.lose(p, cur)
	}
	p.bringUp(inc)
	t.cfg.Logger.Info("cluster: peer up", "node", p.name, "incarnation", inc)
	t.h.PeerUp(p.name, inc)
	// answer at once, so the new peer need not wait a heartbeat interval
	t.publishHeartbeat(false)
	return true
}

// lose declares p's incarnation inc lost. deliverMu must be held.
func (t *Transport) lose(p *peer, inc uint64) {
	p.bringDown(inc)
	p.st.losses.Add(1)
	t.h.PeerDown(p.name, inc)
}

// tellGone tells p's incarnation inc that this node holds it lost, at
// most once a heartbeat interval, so that a node that froze, or was cut
// off, and resumed learns it. deliverMu must be held.
func (t *Transport) tellGone(p *peer, inc uint64) {
	now := time.Now()
	if now.Sub(p.lastGoneNotice) < t.cfg.Heartbeat {
		return
	}
	p.lastGoneNotice = now
	t.sendControl(p, msgGone, inc)
}

// sendControl publishes a control message of type typ to p's incarnation
// inc.
func (t *Transport) sendControl(p *peer, typ byte, inc uint64) {
	var b [goneSize]byte
	_ = t.nc.Publish(p.subject, appendHeader(b[:0], header{typ: typ, src: t.inc, dst: inc}))
}

// Release implements wire.Releaser: the handler no longer holds peer
// back, so what it received from peer is acknowledged now, on the tick
// goroutine. It never blocks.
func (t *Transport) Release(name string) {
	p, _ := t.lookup(name)
	if p == nil {
		return
	}
	p.release.Store(true)
	select {
	case t.ackNow <- struct{}{}:
	default:
	}
}

// ackReleased acknowledges the peers Release named, unless the handler
// holds them again. deliverMu must be held.
func (t *Transport) ackReleased() {
	for _, p := range t.peerList() {
		if !p.release.Swap(false) {
			continue
		}
		if _, up := p.state(); up && p.recvOff > p.ackedIn && !t.holding(p) {
			t.sendAck(p)
		}
	}
}

// holding reports whether the handler holds p back. deliverMu must be
// held.
func (t *Transport) holding(p *peer) bool {
	return t.holder != nil && t.holder.Holding(p.name)
}

// sendHold tells p that this node acknowledges its bytes up to the last
// ack and holds the rest back on purpose. deliverMu must be held.
func (t *Transport) sendHold(p *peer) {
	inc, _ := p.state()
	var b [ackSize]byte
	msg := appendHeader(b[:0], header{typ: msgHold, src: t.inc, dst: inc, off: p.ackedIn})
	if err := t.nc.Publish(p.subject, msg); err == nil {
		p.ackTicks = 0
		t.st.holdsOut.Add(1)
	}
}

// sendAck acknowledges everything received from p. deliverMu must be held.
func (t *Transport) sendAck(p *peer) {
	inc, _ := p.state()
	var b [ackSize]byte
	msg := appendHeader(b[:0], header{typ: msgAck, src: t.inc, dst: inc, off: p.recvOff})
	if err := t.nc.Publish(p.subject, msg); err == nil {
		p.ackedIn = p.recvOff
		p.ackTicks = 0
		t.st.acksOut.Add(1)
	}
}

// onFrameMsg handles a message on P.f.<self>.<name>.
func (t *Transport) onFrameMsg(m *nats.Msg) {
	rest, ok := strings.CutPrefix(m.Subject, t.framePrefix+t.self+".")
	if !ok {
		return
	}
	name := rest
	h, body, err := parseHeader(m.Data)
	if err != nil || h.src == 0 {
		t.st.dropMalformed.Add(1)
		return
	}
	// Decode (outside the lock) before the batch counts as a sign of
	// life, so that bytes that are not a batch change nothing.
	var frames []*wire.Frame
	if h.typ == msgBatch {
		if t.borrow {
			t.decMu.Lock()
			defer t.decMu.Unlock()
			defer t.dec.Done() // the handler keeps nothing of the frames
			frames, err = t.dec.Decode(body)
		} else {
			frames, err = wire.DecodeBatch(body)
		}
		if err != nil {
			t.st.dropMalformed.Add(1)
			t.cfg.Logger.Warn("cluster: malformed batch dropped", "node", name, "bytes", len(body), "err", err)
			return
		}
	}
	t.deliverMu.Lock()
	defer t.deliverMu.Unlock()
	if t.closing {
		return
	}
	if ValidName(name) != nil {
		t.st.dropMalformed.Add(1)
		return
	}
	p := t.peerFor(name)
	if p == nil {
		t.st.dropTooManyPeers.Add(1)
		return
	}
	if h.dst != t.inc {
		// meant for another incarnation of this node
		t.st.dropStale.Add(1)
		return
	}
	switch h.typ {
	case msgLeave:
		if cur, up := p.state(); up && cur == h.src {
			t.cfg.Logger.Info("cluster: peer left", "node", p.name)
			t.lose(p, cur)
		} else {
			p.markGone(h.src)
		}
		return
	case msgGone:
		// p holds this node lost. Report p lost in turn, so both sides
		// have dropped what they held of each other, then tell p, which
		// may then let this node back in; so may this node.
		if cur, up := p.state(); up && cur == h.src {
			t.cfg.Logger.Warn("cluster: peer holds this node lost; dropping it in turn", "node", p.name)
			t.lose(p, cur)
		}
		p.pardon(h.src)
		t.sendControl(p, msgLostAck, h.src)
		return
	case msgLostAck:
		// p has reported this node lost and holds nothing of it: p may
		// come back as the same incarnation.
		if cur, up := p.state(); up && cur == h.src {
			t.lose(p, cur)
		}
		p.pardon(h.src)
		return
	case msgAck, msgHold:
		if cur, up := p.state(); !up || cur != h.src {
			t.st.dropStale.Add(1)
			return
		}
		if h.typ == msgHold {
			t.st.holdsIn.Add(1)
			p.held()
		} else {
			t.st.acksIn.Add(1)
		}
		p.acked(h.off)
		return
	}
	if !t.observe(p, h.src) {
		return
	}
	t.st.batchesIn.Add(1)
	t.st.bytesIn.Add(uint64(len(m.Data)))
	t.st.framesIn.Add(uint64(len(frames)))
	p.st.framesIn.Add(uint64(len(frames)))
	p.st.bytesIn.Add(uint64(len(m.Data)))
	for _, f := range frames {
		t.h.Deliver(name, f)
	}
	if h.off > p.recvOff {
		p.recvOff = h.off
	}
	if t.holding(p) {
		return // acknowledged once released (Release), or told it is held at the next tick
	}
	if unacked := p.recvOff - p.ackedIn; unacked >= uint64(t.cfg.Window/4) {
		t.sendAck(p)
	} else if unacked >= uint64(t.cfg.Window/16) {
		if n, _, err := m.Sub.Pending(); err == nil && n == 0 {
			t.sendAck(p)
		}
	}
}
