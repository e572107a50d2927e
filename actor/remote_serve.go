package actor

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// The owning side: frames peers send. Every request names its target by a
// token this node minted or a static grant; the node checks it, then acts
// through the same choke points as a local process would (Node.signal,
// Node.signalExit, ...). Nothing a peer sends is trusted: an unknown token,
// a path not placed here, a forged grant, a frame before Start or for a
// process that has ended is refused, never acted on.

// An inbound message from another node, on its way to a mailbox, is one
// allocation: its delivery, its envelope and, when they are short, its
// bytes. Three sizes, so that a short message takes little room it does
// not use: on 64-bit platforms the delivery and the envelope take 136
// bytes (Go's size class of 144), and with 24 or 56 bytes of message they
// fill the classes of 160 and 192 bytes.
type (
	inbound struct {
		d   deliver
		env mailbox.Envelope
	}
	inbound24 struct {
		inbound
		data [24]byte
	}
	inbound56 struct {
		inbound
		data [56]byte
	}
)

// newInbound allocates an inbound message for n bytes, and the room for
// them if they fit in it.
func newInbound(n int) (*inbound, []byte) {
	switch {
	case n <= 24:
		in := new(inbound24)
		return &in.inbound, in.data[:]
	case n <= 56:
		in := new(inbound56)
		return &in.inbound, in.data[:]
	}
	return new(inbound), nil
}

// BorrowsFrames implements wire.Borrower: Deliver keeps nothing of a
// frame but copies (importEnvTo copies the message bytes; a parked frame
// keeps the fields a refusal needs).
func (n *Node) BorrowsFrames() {}

// Deliver implements wire.Handler: it acts on a frame peer sent. It never
// blocks.
func (n *Node) Deliver(peer string, f *wire.Frame) {
	r := n.remote
	if r == nil || f == nil {
		return
	}
	defer func() {
		// A frame is a peer's input: a fault acting on one must not take
		// the node down. None is known; this is the last line.
		if v := recover(); v != nil {
			n.log.Error("a frame from another node could not be handled", "node", peer, "kind", int(f.Kind), keyError, fmt.Sprint(v))
		}
	}()
	switch f.Kind {
	case wire.KindSend, wire.KindCall:
		r.onSend(peer, f)
	case wire.KindReply:
		r.onReply(peer, f)
	case wire.KindExit, wire.KindKill:
		r.onExit(peer, f)
	case wire.KindMonitor:
		r.onMonitor(peer, f)
	case wire.KindDemonitor:
		r.onDemonitor(peer, f)
	case wire.KindDown:
		if m := r.takeMon(peer, f.ID); m != nil {
			m.notify(reasonFrom(f.Reason))
		}
	case wire.KindLink:
		r.onLink(peer, f)
	case wire.KindUnlink, wire.KindLinkExit:
		r.onLinkEnd(peer, f)
	case wire.KindSpawn:
		r.onSpawn(peer, f)
	case wire.KindInspect:
		r.onInspect(peer, f)
	case wire.KindRefused:
		r.onRefused(peer, f)
	case wire.KindRelease:
		r.onRelease(peer, f)
	case wire.KindPinned:
		r.onPinned(peer, f)
	}
}

// reasonFrom bounds a reason a peer sent.
func reasonFrom(s string) string {
	if s == "" {
		return "unknown"
	}
	return truncate(s, 256)
}

// PeerUp implements wire.Handler. A new incarnation of a known peer ends
// the old one first.
func (n *Node) PeerUp(peer string, inc uint64) {
	r := n.remote
	if r == nil || peer == r.self {
		return
	}
	r.mu.Lock()
	old, ok := r.peers[peer]
	r.mu.Unlock()
	if ok && old != inc {
		n.PeerDown(peer, old)
	}
	r.mu.Lock()
	r.setPeer(peer, inc, true)
	r.mu.Unlock()
}

// PeerDown implements wire.Handler: everything that depends on peer's
// incarnation inc ends now. Requests awaiting it fail with
// ErrNoConnection, monitors of its processes fire and links with them
// carry an exit signal, both with reason noconnection, and what its
// processes held here (monitors, links) is dropped.
func (n *Node) PeerDown(peer string, inc uint64) {
	r := n.remote
	if r == nil {
		return
	}
	r.mu.Lock()
	if cur, ok := r.peers[peer]; ok && cur != inc {
		r.mu.Unlock()
		return // an incarnation already replaced
	}
	r.setPeer(peer, 0, false)
	var (
		calls []*pending
		mons  []*remoteMon
		links []*remoteLink
		owned []*ownedMon
	)
	for id, p := range r.pending {
		if p.peer == peer {
			calls = append(calls, p)
			delete(r.pending, id)
		}
	}
	for ref, m := range r.mons {
		if m.peer == peer {
			mons = append(mons, m)
			delete(r.mons, ref)
		}
	}
	for key, rl := range r.links {
		if key.peer == peer {
			links = append(links, rl)
			delete(r.links, key)
		}
	}
	for key, om := range r.owned {
		if key.peer == peer {
			owned = append(owned, om)
			delete(r.owned, key)
		}
	}
	r.forgetPeer(peer)
	r.exportsLost(peer)
	r.mu.Unlock()
	r.dropParked(peer)
	r.forgetSent(peer)

	for _, p := range calls {
		p.done(nil, fmt.Errorf("%s: %w", p.op, noConnection(peer)))
	}
	for _, m := range mons {
		m.notify(ReasonNoConnection)
	}
	for _, rl := range links {
		if rl.local == nil {
			continue // a spawn with link still under way: its child is stopped when it comes
		}
		rl.local.lifeMu.Lock()
		delete(rl.local.life.rlinks, rl)
		rl.local.lifeMu.Unlock()
		rl.local.tell(&exitSignal{inc: rl.linc, from: rl.remoteName(), reason: ReasonNoConnection, linked: true})
	}
	for _, om := range owned {
		if om.target != nil {
			om.target.demonitor(om.ref)
		} else {
			r.demonitor(om.ref, nil)
		}
	}
}

// remoteName names the other end of rl in exit notifications.
func (rl *remoteLink) remoteName() string {
	if rp := rl.rp.Load(); rp != nil {
		return rp.describe()
	}
	return rl.key.peer + ":" + rl.from
}

// resolve checks the target a request names: the capability a token
// stands for, or a static grant held by the requesting process; then
// that it carries need. It returns the capability and the path of the
// process a forwarder acts as.
func (r *remote) resolve(peer string, f *wire.Frame, need capability.Rights, op string) (*capability.Capability, string, error) {
	to := f.To
	var c *capability.Capability
	holder := ""
	switch {
	case to.Node != r.self:
		return nil, "", fmt.Errorf("%s: %w: the reference names node %q, not %s", op, isolate.ErrNoProc, truncate(to.Node, 64), r.self)
	case to.Path != "":
		if to.Token != (wire.Token{}) {
			return nil, "", fmt.Errorf("%s: a reference is a token or a path, not both", op)
		}
		sc, err := r.staticCap(peer, f.From, to.Path, need, op)
		if err != nil {
			if errors.Is(err, capability.ErrDenied) {
				r.n.emit(Denied{Op: op, Err: fmt.Errorf("from node %s: %w", peer, err), Path: peer + ":" + truncate(f.From, 256)})
			}
			return nil, "", err
		}
		c = sc
	default:
		if to.Inc != r.inc {
			return nil, "", fmt.Errorf("%s: %w: a reference to an earlier run of node %s", op, isolate.ErrNoProc, r.self)
		}
		r.mu.Lock()
		e := r.exports[to.Token]
		r.mu.Unlock()
		if e == nil {
			return nil, "", fmt.Errorf("%s: %w: unknown reference", op, isolate.ErrNoProc)
		}
		c, holder = e.cap, e.holder
	}
	if err := c.Check(need, op); err != nil {
		r.n.emit(Denied{Op: op, Err: fmt.Errorf("from node %s: %w", peer, err), Path: peer + ":" + truncate(f.From, 256)})
		return nil, "", err
	}
	return c, holder, nil
}

// refuse answers a request that could not be carried out: a request with
// an answer gets it as its error, a one-way one a KindRefused.
func (r *remote) refuse(peer string, f *wire.Frame, err error) {
	switch f.Kind {
	case wire.KindCall, wire.KindSpawn, wire.KindInspect:
		_ = r.send(peer, &wire.Frame{Kind: wire.KindReply, ID: f.ID, Err: wireError(err)})
	default:
		_ = r.send(peer, &wire.Frame{Kind: wire.KindRefused, ID: f.ID, From: f.From, Err: wireError(err)})
	}
}

// badFrame is a request that cannot be acted on as sent.
func badFrame(op string, err error) error {
	return &remoteError{msg: fmt.Sprintf("%s: %v", op, err), kind: errBadFrame}
}

var errBadFrame = errors.New("bad frame")

// asked is the incarnation of peer that sends the request being handled,
// for answer: 0 if this node does not know it up.
func (r *remote) asked(peer string) uint64 {
	r.admitPeer(peer)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[peer]
}

// answer sends the answer to request id of peer's incarnation inc (see
// asked). An incarnation lost meanwhile gets none: its successor numbers
// its own requests afresh and would take it for the answer to one of
// them.
func (r *remote) answer(peer string, inc, id uint64, env *mailbox.Envelope, err error, holder string) {
	r.mu.Lock()
	cur, up := r.peers[peer]
	r.mu.Unlock()
	if up && inc != 0 && cur != inc {
		r.n.log.Debug("an answer to a lost incarnation of a node is dropped", "node", peer, keyProcess, holder)
		return
	}
	f := &wire.Frame{Kind: wire.KindReply, ID: id}
	if err != nil {
		f.Err = wireError(err)
	} else if we, xerr := r.exportEnv(env, holder, peer); xerr != nil {
		f.Err = wireError(fmt.Errorf("the answer: %w", xerr))
	} else {
		f.Env = we
	}
	if err := r.send(peer, f); err != nil {
		r.n.emit(LimitHit{Path: holder, Limit: "cluster", Err: fmt.Errorf("an answer to node %s was lost: %w", peer, err)})
	}
}

// actsAs is the path a forwarded operation acts as: the target's own for
// a local one (its answers' capabilities are its own to give), else the
// forwarder's holder.
func actsAs(c *capability.Capability, holder string) string {
	if p, ok := c.Target().(*Process); ok {
		return p.path
	}
	return holder
}

func (r *remote) onSend(peer string, f *wire.Frame) {
	op := "send"
	if f.Kind == wire.KindCall {
		op = "call"
	}
	c, holder, err := r.resolve(peer, f, capability.Send, op)
	if err != nil {
		r.releaseEnv(f.Env)
		r.refuse(peer, f, err)
		return
	}
	if f.Env == nil {
		r.refuse(peer, f, badFrame(op, errors.New("no message")))
		return
	}
	in, buf := newInbound(len(f.Env.Data))
	if err := r.importEnvTo(&in.env, f.Env, buf); err != nil {
		r.refuse(peer, f, badFrame(op, err))
		return
	}
	d := &in.d
	*d = deliver{env: &in.env, via: holder}
	if f.Kind == wire.KindCall {
		depth := max(int(f.Depth), 1)
		if depth > r.n.maxCallDepth {
			err := fmt.Errorf("%w: this call is %d deep in a chain of calls; the limit is %d", isolate.ErrCallDepth, depth, r.n.maxCallDepth)
			r.refuse(peer, f, err)
			return
		}
		id, as, inc := f.ID, actsAs(c, holder), r.asked(peer)
		d.call = &callRef{depth: depth, answer: func(rep *reply) { r.answer(peer, inc, id, rep.env, rep.err, as) }}
	}
	r.offer(peer, f, op, c, d) // a full mailbox parks it: remote_flow.go
}

func (r *remote) onReply(peer string, f *wire.Frame) {
	r.mu.Lock()
	p := r.pending[f.ID]
	if p == nil || p.peer != peer {
		r.mu.Unlock()
		r.releaseEnv(f.Env)
		return // answered, lost to the peer's end, or not ours
	}
	delete(r.pending, f.ID)
	r.refund(peer, p.holder)
	r.mu.Unlock()
	if f.Err != nil {
		p.done(nil, localError(p.op, f.Err))
		return
	}
	env, err := r.importEnv(f.Env)
	if err != nil {
		p.done(nil, fmt.Errorf("%s: the answer from node %s: %w", p.op, peer, err))
		return
	}
	p.done(env, nil)
}

func (r *remote) onExit(peer string, f *wire.Frame) {
	op, need := "exit", capability.Exit
	s := &exitSignal{from: peer + ":" + truncate(f.From, 256), reason: truncate(f.Reason, 256)}
	if f.Kind == wire.KindKill {
		op, need = "kill", capability.Kill
		s.reason, s.kill = ReasonKilled, true
	}
	c, holder, err := r.resolve(peer, f, need, op)
	if err != nil {
		r.refuse(peer, f, err)
		return
	}
	if s.reason == "" {
		r.refuse(peer, f, badFrame(op, errors.New("a reason is required")))
		return
	}
	if _, local := c.Target().(*Process); !local {
		s.from = holder // forwarded: the next node sees this one's holder act
	}
	if err := r.n.signalExit(c, need, op, s); err != nil {
		r.refuse(peer, f, err)
	}
}

func (r *remote) onMonitor(peer string, f *wire.Frame) {
	c, holder, err := r.resolve(peer, f, capability.Monitor, "monitor")
	if err != nil {
		r.refuse(peer, f, err)
		return
	}
	key := ownedKey{peer: peer, id: f.ID}
	om := &ownedMon{ref: r.n.nextRef.Add(1), holder: peerHolder(peer, f.From)}
	down := func(reason string) {
		r.mu.Lock()
		if r.owned[key] != om {
			// Demonitored, or the peer is gone; maybe back as a new
			// incarnation that reuses the reference for another monitor.
			r.mu.Unlock()
			return
		}
		delete(r.owned, key)
		r.refund(peer, om.holder)
		r.mu.Unlock()
		_ = r.send(peer, &wire.Frame{Kind: wire.KindDown, ID: key.id, Reason: reason})
	}
	if t, ok := c.Target().(*Process); ok {
		om.target = t
	}
	r.admitPeer(peer)
	r.mu.Lock()
	if _, err := r.up(peer); err != nil {
		r.mu.Unlock()
		return // the peer is gone: nobody to tell
	}
	if _, dup := r.owned[key]; dup || f.ID == 0 {
		r.mu.Unlock()
		r.refuse(peer, f, badFrame("monitor", errors.New("the reference is in use")))
		return
	}
	if err := r.charge(peer, om.holder, "monitor"); err != nil {
		r.mu.Unlock()
		r.refuse(peer, f, err)
		return
	}
	r.owned[key] = om
	r.mu.Unlock()

	var now string
	if om.target != nil {
		now, err = om.target.watchFor(om.ref, down)
	} else if rp := remoteOf(c); rp != nil {
		now, err = r.monitor(rp, c, holder, om.ref, nil, 0, down)
	} else {
		now = ReasonNoProc
	}
	switch {
	case err != nil:
		r.dropOwned(key, om)
		r.refuse(peer, f, err)
	case now != "":
		down(now)
	}
}

// dropOwned forgets a peer's monitor.
func (r *remote) dropOwned(key ownedKey, om *ownedMon) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owned[key] == om {
		delete(r.owned, key)
		r.refund(key.peer, om.holder)
	}
}

// watchFor makes a monitor ref on p for another node; notify gets the
// reason when the running incarnation ends. It returns noproc when none
// runs.
func (p *Process) watchFor(ref uint64, notify func(string)) (string, error) {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.life.live == 0 {
		return ReasonNoProc, nil
	}
	if p.life.monitors == nil {
		p.life.monitors = make(map[uint64]monitorEntry)
	}
	if len(p.life.monitors) >= maxMonitors {
		return "", fmt.Errorf("monitor: %w: %s has %d monitors", isolate.ErrClusterLimit, p.path, maxMonitors)
	}
	p.life.monitors[ref] = monitorEntry{notify: notify}
	return "", nil
}

func (r *remote) onDemonitor(peer string, f *wire.Frame) {
	key := ownedKey{peer: peer, id: f.ID}
	r.mu.Lock()
	om, ok := r.owned[key]
	if ok {
		delete(r.owned, key)
		r.refund(peer, om.holder)
	}
	r.mu.Unlock()
	switch {
	case !ok:
	case om.target != nil:
		om.target.demonitor(om.ref)
	default:
		r.demonitor(om.ref, nil)
	}
}

func (r *remote) onLink(peer string, f *wire.Frame) {
	if f.ID == 0 || f.ID&linkFromOwner != 0 {
		r.refuse(peer, f, badFrame("link", errors.New("bad link reference")))
		return
	}
	c, _, err := r.resolve(peer, f, capability.Link, "link")
	if err != nil {
		r.refuse(peer, f, err)
		return
	}
	t, ok := c.Target().(*Process)
	if !ok {
		r.refuse(peer, f, errors.New("link: a link does not pass through a capability forwarded by another node"))
		return
	}
	if t.kind != KindWorker {
		r.refuse(peer, f, fmt.Errorf("link: %w", errNotWorker))
		return
	}
	rl := &remoteLink{key: linkKey{peer: peer, id: f.ID, owner: true}, local: t, from: truncate(f.From, 256), holder: peerHolder(peer, f.From)}
	r.admitPeer(peer)
	r.mu.Lock()
	if _, err := r.up(peer); err != nil {
		r.mu.Unlock()
		return
	}
	if _, dup := r.links[rl.key]; dup {
		r.mu.Unlock()
		return
	}
	t.lifeMu.Lock()
	if t.life.live == 0 {
		t.lifeMu.Unlock()
		r.mu.Unlock()
		_ = r.send(peer, &wire.Frame{Kind: wire.KindLinkExit, ID: rl.wireID(), From: t.path, Reason: ReasonNoProc})
		return
	}
	if linksFull(t, peer) {
		t.lifeMu.Unlock()
		r.mu.Unlock()
		r.refuse(peer, f, fmt.Errorf("link: %w: %s has %d links with node %s", isolate.ErrClusterLimit, t.path, maxMonitors, peer))
		return
	}
	if err := r.charge(peer, rl.holder, "link"); err != nil {
		t.lifeMu.Unlock()
		r.mu.Unlock()
		r.refuse(peer, f, err)
		return
	}
	rl.linc = t.life.live
	if t.life.rlinks == nil {
		t.life.rlinks = make(map[*remoteLink]struct{})
	}
	t.life.rlinks[rl] = struct{}{}
	r.links[rl.key] = rl
	t.lifeMu.Unlock()
	r.mu.Unlock()
}

// onLinkEnd handles KindLinkExit and KindUnlink: the id says which side
// of the link the sender is.
func (r *remote) onLinkEnd(peer string, f *wire.Frame) {
	key := linkKey{peer: peer, id: f.ID &^ linkFromOwner, owner: f.ID&linkFromOwner == 0}
	rl := r.takeLink(key)
	if rl == nil || rl.local == nil || f.Kind == wire.KindUnlink {
		return
	}
	rl.local.tell(&exitSignal{inc: rl.linc, from: peer + ":" + truncate(f.From, 256), reason: reasonFrom(f.Reason), linked: true})
}

func (r *remote) onSpawn(peer string, f *wire.Frame) {
	c, holder, err := r.resolve(peer, f, capability.Spawn, "spawn")
	if err != nil {
		r.releaseEnv(f.Env)
		r.refuse(peer, f, err)
		return
	}
	args, err := r.importEnv(f.Env)
	if err != nil {
		r.refuse(peer, f, badFrame("spawn", err))
		return
	}
	id, inc := f.ID, r.asked(peer)
	var rl *remoteLink
	if f.Link {
		if rl, err = r.spawnLink(peer, f, c); err != nil {
			r.refuse(peer, f, err)
			return
		}
		if rl == nil {
			return // the peer is gone
		}
	}
	refuse := func(err error) {
		r.dropSpawnLink(rl)
		r.refuse(peer, f, err)
	}
	if rp := remoteOf(c); rp != nil {
		if rl != nil {
			refuse(errors.New("spawn: {link: true} does not pass through a capability forwarded by another node"))
			return
		}
		err := r.spawn(rp, c, holder, args, func(env *mailbox.Envelope, err error) { r.answer(peer, inc, id, env, err, holder) })
		if err != nil {
			r.refuse(peer, f, err)
		}
		return
	}
	t, ok := c.Target().(*Process)
	switch {
	case !ok:
		refuse(fmt.Errorf("spawn: %w", isolate.ErrNoProc))
	case t.kind != KindSupervisor || t.spec.Template == nil:
		refuse(fmt.Errorf("spawn: %s has no template", t.path))
	case t.Status() != StatusRunning || t.pid.Load() == nil:
		refuse(fmt.Errorf("%w: spawn: %s is %s", isolate.ErrNoProc, t.path, t.Status()))
	default:
		release, err := r.hold(peer, "spawn", spawnTimeout(t.spec.Template), func() { r.dropSpawnLink(rl) })
		if err != nil {
			refuse(err)
			return
		}
		t.tell(&spawnReq{args: args, rlink: rl, then: func(rep *reply) {
			release()
			r.dropSpawnLink(rl) // unless the child took it
			r.answer(peer, inc, id, rep.env, rep.err, t.path)
		}})
	}
}

// spawnLink registers the link of a spawn with link that peer asked for,
// before the child exists: an end of the spawner that arrives first
// takes it away, and the child is then stopped (group.linkRemote). It
// returns nil when peer is gone.
func (r *remote) spawnLink(peer string, f *wire.Frame, c *capability.Capability) (*remoteLink, error) {
	if f.ID == 0 || f.ID&linkFromOwner != 0 {
		return nil, badFrame("spawn", errors.New("bad link reference"))
	}
	rl := &remoteLink{key: linkKey{peer: peer, id: f.ID, owner: true}, from: truncate(f.From, 256), holder: peerHolder(peer, f.From)}
	r.admitPeer(peer)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.up(peer); err != nil {
		return nil, nil
	}
	if _, dup := r.links[rl.key]; dup {
		return nil, badFrame("spawn", errors.New("the link reference is in use"))
	}
	if err := r.charge(peer, rl.holder, "spawn"); err != nil {
		return nil, err
	}
	r.links[rl.key] = rl
	return rl, nil
}

// dropSpawnLink forgets the link of a spawn with link that made no child.
func (r *remote) dropSpawnLink(rl *remoteLink) {
	if rl == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.links[rl.key] == rl && rl.local == nil {
		delete(r.links, rl.key)
		r.refund(rl.key.peer, rl.holder)
	}
}

// linkRemote links the new child ch with the spawner on another node,
// as linkSpawned does on one node: the child is owned, and if the
// spawner's incarnation has ended meanwhile (the link is gone) the child
// is stopped. It runs on the template supervisor's goroutine.
func (g *group) linkRemote(c proto.Context, rl *remoteLink, ch *Process) bool {
	r := g.proc.node.remote
	ch.owned.Store(true)
	r.mu.Lock()
	if r.links[rl.key] != rl {
		r.mu.Unlock()
		(&Supervisor{g: g, c: c}).StopChild(ch)
		return false
	}
	ch.lifeMu.Lock()
	if ch.life.live == 0 {
		ch.lifeMu.Unlock()
		delete(r.links, rl.key)
		r.refund(rl.key.peer, rl.holder)
		r.mu.Unlock()
		_ = r.send(rl.key.peer, &wire.Frame{Kind: wire.KindLinkExit, ID: rl.key.id | linkFromOwner, From: ch.path, Reason: ReasonNoProc})
		return true
	}
	rl.local, rl.linc = ch, ch.life.live
	if ch.life.rlinks == nil {
		ch.life.rlinks = make(map[*remoteLink]struct{})
	}
	ch.life.rlinks[rl] = struct{}{}
	ch.lifeMu.Unlock()
	r.mu.Unlock()
	return true
}

// maxInFlight bounds the spawns and inspects a peer has asked of this
// node and that are not answered yet: they skip the mailbox limits of the
// process that runs them, as a local process's own are bounded by its
// turn.
const maxInFlight = 256

// hold counts a spawn or inspect that peer asked for, or refuses it. The
// count is released by the returned function, or after wait, when the
// asker has stopped waiting (a request lost with its process's stop is
// never answered); expired, if set, runs then too.
func (r *remote) hold(peer, op string, wait time.Duration, expired func()) (func(), error) {
	r.mu.Lock()
	if r.inflight[peer] >= maxInFlight {
		r.mu.Unlock()
		err := fmt.Errorf("%s: %w: node %s has %d spawns and inspects awaiting an answer here", op, isolate.ErrClusterLimit, peer, maxInFlight)
		r.n.emit(LimitHit{Path: peer + ":", Limit: "cluster", Err: err})
		return nil, err
	}
	r.inflight[peer]++
	r.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.inflight[peer]--; r.inflight[peer] <= 0 {
				delete(r.inflight, peer)
			}
		})
	}
	t := time.AfterFunc(wait, func() {
		release()
		if expired != nil {
			expired()
		}
	})
	return func() { t.Stop(); release() }, nil
}

func (r *remote) onInspect(peer string, f *wire.Frame) {
	c, holder, err := r.resolve(peer, f, capability.Inspect, "inspect")
	if err != nil {
		r.refuse(peer, f, err)
		return
	}
	id, inc := f.ID, r.asked(peer)
	if rp := remoteOf(c); rp != nil {
		if err := r.inspect(rp, c, holder, func(env *mailbox.Envelope, err error) { r.answer(peer, inc, id, env, err, holder) }); err != nil {
			r.refuse(peer, f, err)
		}
		return
	}
	t, ok := c.Target().(*Process)
	switch {
	case !ok:
		r.refuse(peer, f, fmt.Errorf("inspect: %w", isolate.ErrNoProc))
	case t.kind != KindWorker:
		r.refuse(peer, f, fmt.Errorf("inspect: %w", errNotWorker))
	case t.pid.Load() == nil:
		r.refuse(peer, f, fmt.Errorf("%w: inspect: %s has not started", isolate.ErrNoProc, t.path))
	default:
		switch t.Status() {
		case StatusStopped, StatusStopping, StatusFailed:
			r.refuse(peer, f, fmt.Errorf("%w: inspect: %s is %s", isolate.ErrNoProc, t.path, t.Status()))
			return
		}
		release, err := r.hold(peer, "inspect", isolate.DefaultCallTimeout, nil)
		if err != nil {
			r.refuse(peer, f, err)
			return
		}
		t.tell(&inspectRequest{then: func(env *mailbox.Envelope, err error) {
			release()
			r.answer(peer, inc, id, env, err, t.path)
		}})
	}
}
