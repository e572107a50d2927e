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
)

// ReasonNoConnection is the reason of the down and exit notifications a
// process receives when the node of a process it monitors or is linked
// with is lost.
const ReasonNoConnection = "noconnection"

// The requesting side of every operation across nodes. Each runs after
// the local capability check (Node.signal, Node.target's callers), with
// the process that acts named by from.

// fromPath is the path of the process a message is sent as.
func (d *deliver) fromPath() string {
	if d.from != nil {
		return d.from.path
	}
	return d.via
}

// deliver sends d to rp's process, as a call when d.call is set.
func (r *remote) deliver(rp *remoteProcess, c *capability.Capability, op string, d *deliver) error {
	if err := r.reach(rp); err != nil {
		return err
	}
	from := d.fromPath()
	var fe *frameEnv
	if r.reuse {
		// The transport has encoded the frame when Send returns: the
		// next send reuses it.
		fe = frameEnvs.Get().(*frameEnv)
		defer putFrameEnv(fe)
	} else {
		fe = new(frameEnv) // one allocation for the frame and its envelope
	}
	peer := rp.node()
	env, err := r.exportEnvTo(&fe.e, d.env, from, peer)
	if err != nil {
		return r.exportFailed(from, op, err)
	}
	f := &fe.f
	*f = wire.Frame{Kind: wire.KindSend, To: r.wireRef(rp, c), From: rp.actingAs(from), Env: env}
	ob, size, err := r.chargeOutbox(d)
	if err != nil {
		r.unsentEnv(peer, env)
		return err
	}
	if d.call == nil {
		return r.sendOneWay(peer, from, op, f, ob, size)
	}
	cr := d.call
	id, err := r.await(peer, from, op, func(env *mailbox.Envelope, err error) {
		cr.answer(&reply{incarnation: cr.incarnation, id: cr.id, env: env, err: err})
	})
	if err != nil {
		returnOutbox(ob, size)
		r.unsentEnv(peer, env)
		return err
	}
	f.Kind, f.ID, f.Depth = wire.KindCall, id, uint32(cr.depth)
	if err := r.sendCharged(peer, f, ob, size); err != nil {
		if !r.forget(id) {
			return nil // answered with the peer's loss: one answer only
		}
		return err
	}
	return nil
}

// frameEnv holds a frame and its envelope, allocated together.
type frameEnv struct {
	f wire.Frame
	e wire.Envelope
}

// frameEnvs holds the frames of sends to a wire.Copier, for reuse.
var frameEnvs = sync.Pool{New: func() any { return new(frameEnv) }}

// putFrameEnv returns fe, cleared, to frameEnvs.
func putFrameEnv(fe *frameEnv) {
	*fe = frameEnv{}
	frameEnvs.Put(fe)
}

// exportFailed reports a message whose capabilities could not be exported.
func (r *remote) exportFailed(from, op string, err error) error {
	err = fmt.Errorf("%s: %w", op, err)
	if errors.Is(err, isolate.ErrClusterLimit) {
		r.n.emit(LimitHit{Path: from, Limit: "exports", Err: err})
	}
	return err
}

// await registers a request to peer that the process at holder makes;
// done gets its answer, or ErrNoConnection if peer is lost first.
func (r *remote) await(peer, holder, op string, done func(*mailbox.Envelope, error)) (uint64, error) {
	id := r.n.nextRef.Add(1)
	return id, r.awaitAs(id, peer, holder, op, done)
}

// awaitAs is await under a reference the caller took.
func (r *remote) awaitAs(id uint64, peer, holder, op string, done func(*mailbox.Envelope, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.up(peer); err != nil {
		return err
	}
	if err := r.charge(peer, holder, op); err != nil {
		return err
	}
	r.pending[id] = &pending{peer: peer, holder: holder, op: op, done: done}
	return nil
}

// forget drops a request that was never sent. It reports false when the
// request was answered already: the peer's loss failed it meanwhile.
func (r *remote) forget(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if ok {
		delete(r.pending, id)
		r.refund(p.peer, p.holder)
	}
	return ok
}

// exit sends s, an exit signal or a kill, to rp's process.
func (r *remote) exit(rp *remoteProcess, c *capability.Capability, s *exitSignal) error {
	if err := r.reach(rp); err != nil {
		return err
	}
	f := &wire.Frame{Kind: wire.KindExit, To: r.wireRef(rp, c), From: rp.actingAs(s.from), Reason: s.reason}
	op := "exit"
	if s.kill {
		f.Kind, op = wire.KindKill, "kill"
	}
	return r.sendOneWay(rp.node(), s.from, op, f, nil, 0)
}

// monitor makes the monitor ref on rp's process for watcher's incarnation
// winc; notify gets the down's reason. When the down is due at once (the
// process or its node is gone) it returns that reason instead and
// registers nothing.
func (r *remote) monitor(rp *remoteProcess, c *capability.Capability, from string, ref uint64, watcher *Process, winc uint64, notify func(string)) (string, error) {
	if err := r.reach(rp); err != nil {
		return dueReason(err)
	}
	peer := rp.node()
	r.mu.Lock()
	if _, err := r.up(peer); err != nil {
		r.mu.Unlock()
		return ReasonNoConnection, nil
	}
	var swept []uint64
	hk := holdKey{peer, from}
	if r.perPeer[peer] >= maxPeerState {
		swept = r.sweepMons(peer)
	} else if r.holderFull(peer, from) {
		// Monitors of from's ended incarnations may hold its share (a
		// restart keeps the path). One sweep per incarnation that finds
		// the share full: a script retrying past its share makes no more.
		if w, ok := r.swept[hk]; !ok || w != winc {
			swept = r.sweepMons(peer)
			if r.holderFull(peer, from) {
				r.swept[hk] = winc
			}
		}
	}
	err := r.charge(peer, from, "monitor")
	if err == nil {
		r.mons[ref] = &remoteMon{peer: peer, holder: from, watcher: watcher, winc: winc, notify: notify}
	}
	r.mu.Unlock()
	for _, old := range swept {
		_ = r.send(peer, &wire.Frame{Kind: wire.KindDemonitor, ID: old})
	}
	if err != nil {
		return "", err
	}
	if err := r.send(peer, &wire.Frame{Kind: wire.KindMonitor, To: r.wireRef(rp, c), From: rp.actingAs(from), ID: ref}); err != nil {
		if r.takeMon(peer, ref) == nil {
			return "", nil // the peer was lost meanwhile: its loss fired the monitor
		}
		return dueReason(err)
	}
	return "", nil
}

// sweepMons drops the monitors on peer's processes whose watcher
// incarnation has ended, as nobody would receive their down, and returns
// their references, for the peer to drop too. r.mu must be held.
func (r *remote) sweepMons(peer string) []uint64 {
	var refs []uint64
	for ref, m := range r.mons {
		if m.peer == peer && m.watcher != nil && (m.watcher.Incarnation() != m.winc || m.watcher.Status() == StatusStopped) {
			delete(r.mons, ref)
			r.refund(peer, m.holder)
			refs = append(refs, ref)
		}
	}
	return refs
}

// dueReason is the reason of a down or exit due at once for err, or err.
func dueReason(err error) (string, error) {
	switch {
	case errors.Is(err, isolate.ErrNoConnection):
		return ReasonNoConnection, nil
	case errors.Is(err, isolate.ErrNoProc):
		return ReasonNoProc, nil
	}
	return "", err
}

// takeMon removes and returns the monitor ref that peer holds the other end of.
func (r *remote) takeMon(peer string, ref uint64) *remoteMon {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.mons[ref]
	if m == nil || m.peer != peer {
		return nil
	}
	delete(r.mons, ref)
	r.refund(peer, m.holder)
	return m
}

// demonitor cancels watcher's monitor ref and reports whether it was active.
func (r *remote) demonitor(ref uint64, watcher *Process) bool {
	r.mu.Lock()
	m := r.mons[ref]
	if m == nil || m.watcher != watcher {
		r.mu.Unlock()
		return false
	}
	delete(r.mons, ref)
	r.refund(m.peer, m.holder)
	r.mu.Unlock()
	_ = r.send(m.peer, &wire.Frame{Kind: wire.KindDemonitor, ID: ref})
	return true
}

// link links incarnation linc of local with rp's process. When the link
// cannot be made it returns the reason of the exit signal due at once.
func (r *remote) link(rp *remoteProcess, c *capability.Capability, local *Process, linc uint64) (string, error) {
	if err := r.reach(rp); err != nil {
		return dueReason(err)
	}
	peer := rp.node()
	rl := &remoteLink{key: linkKey{peer: peer, id: r.n.nextRef.Add(1)}, local: local, linc: linc, holder: local.path}
	rl.rp.Store(rp)
	r.mu.Lock()
	if _, err := r.up(peer); err != nil {
		r.mu.Unlock()
		return ReasonNoConnection, nil
	}
	local.lifeMu.Lock()
	if local.life.live != linc {
		local.lifeMu.Unlock()
		r.mu.Unlock()
		return "", nil // this incarnation has ended: nobody to link
	}
	for old := range local.life.rlinks {
		if !old.key.owner && old.rp.Load() == rp {
			local.lifeMu.Unlock()
			r.mu.Unlock()
			return "", nil // linked already
		}
	}
	if linksFull(local, "") {
		local.lifeMu.Unlock()
		r.mu.Unlock()
		return "", fmt.Errorf("link: %w: %s has %d links with other nodes", isolate.ErrClusterLimit, local.path, maxMonitors)
	}
	if err := r.charge(peer, local.path, "link"); err != nil {
		local.lifeMu.Unlock()
		r.mu.Unlock()
		return "", err
	}
	if local.life.rlinks == nil {
		local.life.rlinks = make(map[*remoteLink]struct{})
	}
	local.life.rlinks[rl] = struct{}{}
	r.links[rl.key] = rl
	local.lifeMu.Unlock()
	r.mu.Unlock()
	if err := r.send(peer, &wire.Frame{Kind: wire.KindLink, To: r.wireRef(rp, c), From: rp.actingAs(local.path), ID: rl.key.id}); err != nil {
		if r.takeLink(rl.key) == nil {
			return "", nil // the peer was lost meanwhile: its loss carried the exit
		}
		return dueReason(err)
	}
	return "", nil
}

// maxRemoteLinks bounds all of a process's links with other nodes.
const maxRemoteLinks = 8 * maxMonitors

// linksFull reports whether p may hold no more links with other nodes
// made by p (peer "") or by the processes of peer: each is bounded by
// maxMonitors on its own, so that no peer can take the links of p or of
// another peer. p.lifeMu must be held.
func linksFull(p *Process, peer string) bool {
	switch n := len(p.life.rlinks); {
	case n < maxMonitors:
		return false // the common case: no count needed
	case n >= maxRemoteLinks:
		return true
	}
	k := 0
	for rl := range p.life.rlinks {
		if (peer == "" && !rl.key.owner) || (peer != "" && rl.key.owner && rl.key.peer == peer) {
			k++
		}
	}
	return k >= maxMonitors
}

// takeLink removes and returns the link key names, on both tables.
func (r *remote) takeLink(key linkKey) *remoteLink { return r.takeLinkOf(key, nil) }

// takeLinkOf is takeLink of the link only if it is want (unless nil): a
// peer's new incarnation may have reused the key of a lost one's link.
func (r *remote) takeLinkOf(key linkKey, want *remoteLink) *remoteLink {
	r.mu.Lock()
	rl := r.links[key]
	if rl == nil || (want != nil && rl != want) {
		r.mu.Unlock()
		return nil
	}
	delete(r.links, key)
	r.refund(key.peer, rl.holder)
	r.mu.Unlock()
	if rl.local != nil {
		rl.local.lifeMu.Lock()
		delete(rl.local.life.rlinks, rl)
		rl.local.lifeMu.Unlock()
	}
	return rl
}

// wireID is the id a frame about rl carries.
func (rl *remoteLink) wireID() uint64 {
	if rl.key.owner {
		return rl.key.id | linkFromOwner
	}
	return rl.key.id
}

// unlink removes local's links with rp's process: those it made through
// rp, and those that process made to local under the path rp names.
func (r *remote) unlink(rp *remoteProcess, local *Process) {
	var drop []*remoteLink
	local.lifeMu.Lock()
	for rl := range local.life.rlinks {
		if (!rl.key.owner && rl.rp.Load() == rp) ||
			(rl.key.owner && rl.key.peer == rp.node() && rp.ref.Path != "" && rl.from == rp.ref.Path) {
			drop = append(drop, rl)
		}
	}
	local.lifeMu.Unlock()
	for _, rl := range drop {
		if r.takeLinkOf(rl.key, rl) != nil {
			_ = r.send(rl.key.peer, &wire.Frame{Kind: wire.KindUnlink, ID: rl.wireID()})
		}
	}
}

// linksEnded carries the end of local's incarnation to its remote links.
func (r *remote) linksEnded(local *Process, links map[*remoteLink]struct{}, reason string) {
	for rl := range links {
		r.mu.Lock()
		mine := r.links[rl.key] == rl
		if mine {
			delete(r.links, rl.key)
			r.refund(rl.key.peer, rl.holder)
		}
		r.mu.Unlock()
		if mine {
			_ = r.send(rl.key.peer, &wire.Frame{Kind: wire.KindLinkExit, ID: rl.wireID(), From: local.path, Reason: reason})
		}
	}
}

// spawn asks rp's template supervisor for a child; done gets the answer.
func (r *remote) spawn(rp *remoteProcess, c *capability.Capability, from string, args *mailbox.Envelope, done func(*mailbox.Envelope, error)) error {
	return r.request(rp, c, wire.KindSpawn, "spawn", from, args, done)
}

// inspect asks rp's process for its inspect() answer; done gets it.
func (r *remote) inspect(rp *remoteProcess, c *capability.Capability, from string, done func(*mailbox.Envelope, error)) error {
	return r.request(rp, c, wire.KindInspect, "inspect", from, nil, done)
}

// spawnLinked asks rp's template supervisor for a child linked with
// incarnation linc of local before the answer comes, as spawn {link:
// true} does on one node. The link is made on this side first, so an end
// of local's incarnation while the spawn is under way reaches the child.
func (r *remote) spawnLinked(rp *remoteProcess, c *capability.Capability, local *Process, linc uint64, args *mailbox.Envelope, done func(*mailbox.Envelope, error)) error {
	if err := r.reach(rp); err != nil {
		return err
	}
	peer := rp.node()
	we, err := r.exportEnv(args, local.path, peer)
	if err != nil {
		return r.exportFailed(local.path, "spawn", err)
	}
	id := r.n.nextRef.Add(1)
	rl := &remoteLink{key: linkKey{peer: peer, id: id}, local: local, linc: linc, holder: local.path}
	err = r.awaitAs(id, peer, local.path, "spawn", func(env *mailbox.Envelope, err error) {
		if err != nil {
			r.takeLink(rl.key) // no child: no link
		} else if env != nil && len(env.Caps()) == 1 {
			rl.rp.Store(remoteOf(env.Caps()[0]))
		}
		done(env, err)
	})
	if err != nil {
		r.unsentEnv(peer, we)
		return err
	}
	r.mu.Lock()
	local.lifeMu.Lock()
	_, down := r.up(peer)
	switch {
	case down != nil:
		err = down
	case local.life.live != linc:
		err = fmt.Errorf("%w: spawn: the spawner's incarnation has ended", isolate.ErrNoProc)
	case linksFull(local, ""):
		err = fmt.Errorf("spawn: %w: %s has %d links with other nodes", isolate.ErrClusterLimit, local.path, maxMonitors)
	default:
		err = r.charge(peer, local.path, "spawn")
	}
	if err == nil {
		if local.life.rlinks == nil {
			local.life.rlinks = make(map[*remoteLink]struct{})
		}
		local.life.rlinks[rl] = struct{}{}
		r.links[rl.key] = rl
	}
	local.lifeMu.Unlock()
	r.mu.Unlock()
	if err != nil {
		r.unsentEnv(peer, we)
		if !r.forget(id) {
			return nil // answered with the peer's loss
		}
		return err
	}
	if err := r.send(peer, &wire.Frame{Kind: wire.KindSpawn, To: r.wireRef(rp, c), From: rp.actingAs(local.path), ID: id, Env: we, Link: true}); err != nil {
		if !r.forget(id) {
			return nil // answered with the peer's loss, which took the link too
		}
		r.takeLink(rl.key)
		return err
	}
	return nil
}

func (r *remote) request(rp *remoteProcess, c *capability.Capability, kind wire.Kind, op, from string, env *mailbox.Envelope, done func(*mailbox.Envelope, error)) error {
	if err := r.reach(rp); err != nil {
		return err
	}
	peer := rp.node()
	we, err := r.exportEnv(env, from, peer)
	if err != nil {
		return r.exportFailed(from, op, err)
	}
	id, err := r.await(peer, from, op, done)
	if err != nil {
		r.unsentEnv(peer, we)
		return err
	}
	if err := r.send(peer, &wire.Frame{Kind: kind, To: r.wireRef(rp, c), From: rp.actingAs(from), ID: id, Env: we}); err != nil {
		if !r.forget(id) {
			return nil // answered with the peer's loss: one answer only
		}
		return err
	}
	return nil
}

// spawnWait is how long a spawn on another node may take: its template's
// start timeout when this node knows the template, else a minute.
func (r *remote) spawnWait(rp *remoteProcess) time.Duration {
	if rp.ref.Path != "" {
		if pl, ok := r.placed(rp.ref.Path); ok && pl.spec.Template != nil {
			return spawnTimeout(pl.spec.Template)
		}
	}
	return time.Minute
}
