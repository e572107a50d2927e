package actor

import (
	"runtime"
	"sync/atomic"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// Releasing tokens. A token this node minted stays in its export table
// while it may be used: until it is revoked (or its dynamic child is
// gone), or until every node it was sent to has let it go. The owner
// counts, per token and peer, how many times it sent the token to that
// peer. A node that receives a token counts its receipts on the remote
// target it makes of it (importCount); when that target is collected,
// that is when no process, message, monitor, link or export of the node
// refers to it any more (a process that ends drops its references with
// its isolate), the node sends the owner a KindRelease with the count.
// The owner takes the count off that peer's; at zero the peer holds it no
// more, and once no peer does, the token is dropped. A token that was in
// flight to the node when it released arrives later and is counted
// anew, so a release never drops a token the node still holds or is
// about to receive.
//
// A node that hands a token on to a third node (a capability passed on
// unchanged, whose uses go straight to the owner) cannot know when the
// third node lets it go: it tells the owner once (KindPinned), never
// releases it, and the owner keeps the token until it is revoked, as
// without this protocol. When a peer is lost, the owner drops its count:
// what the lost incarnation held is gone with it; a token it pinned
// stays. A release or a pin from a node that does not hold the token, or
// with a count larger than the owner sent it, is refused and counted.

// maxExportHolds bounds the peers one token is counted for; past it the
// token is pinned.
const maxExportHolds = 16

// exportHold is how many times a token was sent to peer and not released.
type exportHold struct {
	peer string
	n    int64
}

// hold counts e sent to peer once more ("" for a peer not known: the
// token is pinned). r.mu must be held.
func (e *export) hold(peer string) {
	if e.pinned {
		return
	}
	for i := range e.held {
		if e.held[i].peer == peer {
			e.held[i].n++
			return
		}
	}
	if peer == "" || len(e.held) >= maxExportHolds {
		e.pinned, e.held = true, nil
		return
	}
	e.held = append(e.held, exportHold{peer: peer, n: 1})
}

// unhold takes n of peer's count of e off, or all of it if n is 0. It
// reports false, changing nothing, when peer does not hold that many.
// r.mu must be held.
func (e *export) unhold(peer string, n int64) bool {
	for i := range e.held {
		h := &e.held[i]
		if h.peer != peer {
			continue
		}
		if n > h.n {
			return false
		}
		if n == 0 || n == h.n {
			e.held = append(e.held[:i], e.held[i+1:]...)
		} else {
			h.n -= n
		}
		return true
	}
	return false
}

// released reports whether no peer holds e any more and nothing pins it.
func (e *export) released() bool { return !e.pinned && len(e.held) == 0 }

// importCount is what a node knows of a token of another node that it
// received.
type importCount struct {
	n      atomic.Int64 // receipts since the last release
	handed atomic.Bool  // handed on to a third node: never released
}

// received counts one receipt; c may be nil (a static grant).
func (c *importCount) received() {
	if c != nil {
		c.n.Add(1)
	}
}

// importGone is what the release of a collected remote target needs.
type importGone struct {
	r   *remote
	ref wire.Ref
	imp *importCount
}

// trackImport makes rp, a token of another node, release the token once
// it is collected.
func (r *remote) trackImport(rp *remoteProcess) {
	rp.imp = new(importCount)
	runtime.AddCleanup(rp, func(g importGone) { g.r.importGone(g) }, importGone{r: r, ref: rp.ref, imp: rp.imp})
}

// ownerUp reports whether the node that minted ref runs the incarnation
// that did.
func (r *remote) ownerUp(ref wire.Ref) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	inc, ok := r.peers[ref.Node]
	return ok && inc == ref.Inc
}

// importGone releases the token of a collected remote target. It runs on
// the runtime's cleanup goroutine and never blocks.
func (r *remote) importGone(g importGone) {
	n := g.imp.n.Load()
	if n == 0 || g.imp.handed.Load() || !r.ownerUp(g.ref) {
		return // nothing received, handed on, or minted by a run that is gone
	}
	ref := wire.Ref{Node: g.ref.Node, Inc: g.ref.Inc, Token: g.ref.Token}
	if err := r.send(ref.Node, &wire.Frame{Kind: wire.KindRelease, To: ref, ID: uint64(n)}); err != nil {
		r.releasesUnsent.Add(1)
		r.n.log.Debug("a token's release could not be sent; its owner keeps it until this node is lost", "node", ref.Node, keyError, err)
		return
	}
	r.releasesSent.Add(1)
}

// handOn tells the owner of rp's token, once, that this node hands it on
// to a third node.
func (r *remote) handOn(rp *remoteProcess) {
	if rp.imp == nil || !rp.imp.handed.CompareAndSwap(false, true) || !r.ownerUp(rp.ref) {
		return
	}
	ref := wire.Ref{Node: rp.ref.Node, Inc: rp.ref.Inc, Token: rp.ref.Token}
	if err := r.send(ref.Node, &wire.Frame{Kind: wire.KindPinned, To: ref}); err != nil {
		r.n.log.Debug("a token's pin could not be sent; its owner drops it when this node is lost", "node", ref.Node, keyError, err)
	}
}

// unsentEnv takes the tokens of this node in we, exported for a frame to
// peer that was not sent, off peer's counts.
func (r *remote) unsentEnv(peer string, we *wire.Envelope) {
	if we != nil && len(we.Caps) > 0 {
		r.unsentRefs(peer, we.Caps)
	}
}

// unsentRefs is unsentEnv of refs.
func (r *remote) unsentRefs(peer string, refs []wire.Ref) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range refs {
		if ref.Node != r.self || ref.Inc != r.inc || ref.Path != "" {
			continue
		}
		if e := r.exports[ref.Token]; e != nil && e.unhold(peer, 1) && e.released() {
			r.dropExport(ref.Token, e)
		}
	}
}

// ownToken reports whether ref is a token of this run of this node.
func (r *remote) ownToken(ref wire.Ref) bool {
	return ref.Node == r.self && ref.Inc == r.inc && ref.Path == "" && ref.Token != (wire.Token{})
}

// onRelease takes a peer's release of a token off its count.
func (r *remote) onRelease(peer string, f *wire.Frame) {
	if !r.ownToken(f.To) || f.ID == 0 || f.ID > 1<<62 {
		r.releasesRefused.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.exports[f.To.Token]
	if e == nil || e.pinned || !e.unhold(peer, int64(f.ID)) {
		if e == nil || !e.pinned {
			r.releasesRefused.Add(1) // not held by peer, or not that many times
		}
		return
	}
	if e.released() {
		r.dropExport(f.To.Token, e)
	}
}

// onPinned pins a token that peer holds and has handed on.
func (r *remote) onPinned(peer string, f *wire.Frame) {
	if !r.ownToken(f.To) {
		r.releasesRefused.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.exports[f.To.Token]
	switch {
	case e == nil:
		r.releasesRefused.Add(1)
	case e.pinned:
	case !e.unhold(peer, 0):
		r.releasesRefused.Add(1) // peer was never sent it
	default:
		e.pinned, e.held = true, nil
	}
}

// exportsLost drops peer's counts, lost with it, and the tokens nobody
// holds any more. r.mu must be held.
func (r *remote) exportsLost(peer string) {
	for tok, e := range r.exports {
		if len(e.held) > 0 && e.unhold(peer, 0) && e.released() {
			r.dropExport(tok, e)
		}
	}
}

// releaseEnv releases the tokens of other nodes in we, which a peer sent
// and this node drops without importing them (a refused request, an
// answer nobody awaits): each receipt is released once, whether imported
// or not.
func (r *remote) releaseEnv(we *wire.Envelope) {
	if we != nil && len(we.Caps) > 0 {
		r.releaseRefs(we.Caps)
	}
}

// releaseRefs is releaseEnv of refs.
func (r *remote) releaseRefs(refs []wire.Ref) {
	type key struct {
		node string
		inc  uint64
		tok  wire.Token
	}
	var counts map[key]uint64
	for _, ref := range refs {
		if ref.Path != "" || ref.Node == "" || ref.Node == r.self || ref.Token == (wire.Token{}) {
			continue
		}
		if counts == nil {
			counts = make(map[key]uint64)
		}
		counts[key{ref.Node, ref.Inc, ref.Token}]++
	}
	for k, n := range counts {
		g := importGone{r: r, ref: wire.Ref{Node: k.node, Inc: k.inc, Token: k.tok}, imp: new(importCount)}
		g.imp.n.Store(int64(n))
		r.importGone(g)
	}
}
