package actor

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// Remote capabilities. A capability whose target lives on another node
// designates a *remoteProcess: the node that owns the process and a
// reference it understands (a token it minted, or the path of a static
// grant). The capability's rights are checked here first, as for a local
// target; the owning node checks its own record on every use.
//
// A capability leaving this node in a frame is exported (export.go's
// table): a local process's capability becomes a 128-bit token mapping to
// that exact capability object, rights and revokers included; a remote
// one passes its owner's token through unchanged, unless this node
// narrowed it (attenuation, a revocable forwarder), in which case it is
// exported as a token of this node, and uses go through here.

// remoteProcess is a process on another node, as a capability's target.
type remoteProcess struct {
	id  uint64   // unique on this node, as a Process id
	ref wire.Ref // Rights unused: the capabilities carry the rights
	// holder, for a static grant (ref.Path set), is the process of this
	// node the manifest grants it to: whoever uses the capability, the
	// owner checks the holder's grant, as it would a forwarder's.
	holder string
	// imp counts this node's receipts of a token (ref.Path empty, of
	// another node): see remote_release.go. nil for a static grant.
	imp *importCount

	mu    sync.Mutex
	plain map[capability.Rights]*capability.Capability // the capabilities made on import: passed through unchanged
}

// TargetID implements capability.Target.
func (rp *remoteProcess) TargetID() uint64 { return rp.id }

// Node is the name of the node the process lives on.
func (rp *remoteProcess) node() string { return rp.ref.Node }

// describe names the process for operators: node:path, or node and a
// token's first digits.
func (rp *remoteProcess) describe() string {
	if rp.ref.Path != "" {
		return rp.ref.Node + ":" + rp.ref.Path
	}
	return fmt.Sprintf("%s:#%x", rp.ref.Node, rp.ref.Token[:4])
}

// actingAs is the path a frame about rp names as the acting process.
func (rp *remoteProcess) actingAs(from string) string {
	if rp.holder != "" {
		return rp.holder
	}
	return from
}

// plainCap returns the capability with rights that import makes for rp.
func (rp *remoteProcess) plainCap(rights capability.Rights) *capability.Capability {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if c, ok := rp.plain[rights]; ok {
		return c
	}
	if rp.plain == nil {
		rp.plain = make(map[capability.Rights]*capability.Capability)
	}
	c := capability.New(rp, rights)
	rp.plain[rights] = c
	return c
}

// isPlain reports whether c is a capability import made: one this node
// did not narrow, which may travel on as its owner's reference.
func (rp *remoteProcess) isPlain(c *capability.Capability) bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.plain[c.Rights()] == c
}

// remoteOf returns c's target if it is a process on another node.
func remoteOf(c *capability.Capability) *remoteProcess {
	if c == nil {
		return nil
	}
	rp, _ := c.Target().(*remoteProcess)
	return rp
}

// Bounds of the host's cluster tables.
const (
	// maxExports bounds the capabilities exported to other nodes.
	maxExports = 1 << 18
	// maxHolderExports bounds those one process sent (or answered with),
	// so that one script cannot take the whole table from the others.
	maxHolderExports = maxExports / 16
	// maxImports bounds the remote targets kept for deduplication; past
	// it an import makes a fresh target (still correct, not shared).
	maxImports = 1 << 18
	// maxPeerState bounds, per peer, the monitors and links with it and
	// the requests awaiting its answers.
	maxPeerState = 100_000
	// maxHolderPeerState bounds the part of one peer's state that one
	// process holds (the monitors, links and requests it made, or, for a
	// peer's process, those it made here), so that one script cannot take
	// a peer from the others.
	maxHolderPeerState = maxPeerState / 16
	// maxRemoteMessage bounds the error text a peer may send.
	maxRemoteMessage = 1024
)

// linkFromOwner marks a link id in frames sent by the side that was
// linked to (the target of KindLink); ids chosen by the linking node stay
// below it, so each side knows which of its links a frame names.
const linkFromOwner = 1 << 63

type rpKey struct {
	node   string
	inc    uint64
	token  wire.Token
	path   string
	holder string
}

// export is a capability of this node a token stands for.
type export struct {
	cap    *capability.Capability
	proc   *Process // the local target, or nil for a forwarder of a remote one
	holder string   // the path of the process that sent it; a forwarder acts as it
	plain  bool     // listed in exportPl under its target, rights and holder
	// held are the peers the token was sent to, with how many times,
	// until they release it; pinned keeps the token whatever they do
	// (remote_release.go).
	held   []exportHold
	pinned bool
}

// plainKey names an unrevocable capability by what it is, so the equal
// capabilities a script makes anew for each message
// (ctx.self.attenuate(["send"]), or the same of another node's process)
// share one token instead of filling the export table. target is a
// *Process or a *remoteProcess.
type plainKey struct {
	target capability.Target
	rights capability.Rights
	holder string
}

// pending is a request to a peer awaiting its answer.
type pending struct {
	peer   string
	holder string // the process that asked; see maxHolderPeerState
	op     string
	done   func(*mailbox.Envelope, error)
}

// remoteMon is a monitor this node holds on a peer's process.
type remoteMon struct {
	peer    string
	holder  string   // the process charged for it: the watcher, or the forwarder's holder
	watcher *Process // nil for a monitor relayed for another node
	winc    uint64   // the watcher's incarnation
	notify  func(reason string)
}

// ownedKey names a monitor a peer holds on one of this node's processes.
type ownedKey struct {
	peer string
	id   uint64
}

// ownedMon is the local half of a peer's monitor.
type ownedMon struct {
	holder string   // the peer's process that asked, as "node:path"
	target *Process // nil when relayed on to another node
	ref    uint64   // the local monitor reference (or the relayed one)
}

// linkKey names a link with a peer's process: the id the linking node
// chose, and whether this node is the side linked to.
type linkKey struct {
	peer  string
	id    uint64
	owner bool
}

// remoteLink is a link between a local process's incarnation and a
// process on a peer.
type remoteLink struct {
	key   linkKey
	local *Process // nil on the side linked to while a spawn with link is under way; set under remote.mu
	linc  uint64
	rp    atomic.Pointer[remoteProcess] // the linking side: the target, once known
	from  string                        // the side linked to: the linking process's path
	// holder is the process charged for the link: the local process on
	// the linking side, the peer's linking process ("node:path") on the
	// side linked to.
	holder string
}

// remote is a clustered node's state for other nodes.
type remote struct {
	n    *Node
	t    wire.Transport
	self string
	inc  uint64

	mu        sync.Mutex
	peers     map[string]uint64                 // peers up, and their incarnation
	upPeers   atomic.Pointer[map[string]uint64] // a copy of peers, for reading without mu (setPeer)
	exports   map[wire.Token]*export
	exportOf  map[*capability.Capability]wire.Token
	exportPl  map[plainKey]wire.Token // tokens of unrevocable local capabilities; see plainKey
	sweptAt   int                     // the size of exports after the last sweep
	refusedAt int                     // exports refused since the last sweep
	exportsBy map[string]int          // exports by holder; see maxHolderExports
	imports   map[rpKey]weak.Pointer[remoteProcess]
	pending   map[uint64]*pending
	mons      map[uint64]*remoteMon
	owned     map[ownedKey]*ownedMon
	links     map[linkKey]*remoteLink
	perPeer   map[string]int  // pending + mons + owned + links per peer
	stateBy   map[holdKey]int // those per peer and holder; see maxHolderPeerState
	holdMax   int             // maxHolderPeerState, lowered by tests
	// swept is, per holder whose share is full, the watcher incarnation
	// whose sweep of ended monitors freed none of it: that incarnation
	// does not sweep again while the share stays full.
	swept     map[holdKey]uint64
	inflight  map[string]int                    // spawns and inspects peers asked for, not answered yet
	placement atomic.Pointer[map[string]placed] // set once, at Start
	flow      flow                              // parked sends and calls; see remote_flow.go
	tracker   wire.Tracker                      // t, if it tells when a peer took a frame; see remote_outbox.go
	sent      sentLogs                          // one-way frames a refusal may name; see remote_refused.go
	static    atomic.Pointer[staticHit]         // the last static grant a peer's frame named; see staticCap
	reuse     bool                              // t is a wire.Copier: the frames of sends are reused (frameEnvs)

	// releases of tokens; see remote_release.go
	releasesSent, releasesUnsent, releasesRefused atomic.Uint64
}

// placed returns where path is placed, once the node has started.
func (r *remote) placed(path string) (placed, bool) {
	m := r.placement.Load()
	if m == nil {
		return placed{}, false
	}
	pl, ok := (*m)[path]
	return pl, ok
}

func newRemote(n *Node, t wire.Transport) *remote {
	return &remote{
		n: n, t: t, self: t.Self(), inc: t.Incarnation(),
		peers:     make(map[string]uint64),
		exports:   make(map[wire.Token]*export),
		exportOf:  make(map[*capability.Capability]wire.Token),
		exportPl:  make(map[plainKey]wire.Token),
		exportsBy: make(map[string]int),
		imports:   make(map[rpKey]weak.Pointer[remoteProcess]),
		pending:   make(map[uint64]*pending),
		mons:      make(map[uint64]*remoteMon),
		owned:     make(map[ownedKey]*ownedMon),
		links:     make(map[linkKey]*remoteLink),
		perPeer:   make(map[string]int),
		stateBy:   make(map[holdKey]int),
		holdMax:   maxHolderPeerState,
		swept:     make(map[holdKey]uint64),
		inflight:  make(map[string]int),
		flow:      flow{kick: make(chan struct{}, 1), maxFrames: maxParkedFrames, maxCost: maxParkedBytes, maxWait: parkWait},
		tracker:   tracker(t),
		reuse:     isCopier(t),
	}
}

func isCopier(t wire.Transport) bool {
	_, ok := t.(wire.Copier)
	return ok
}

// target returns the remote process ref names, shared with earlier
// imports of the same reference while any capability holds it.
func (r *remote) target(ref wire.Ref) *remoteProcess { return r.targetHeld(ref, "") }

// targetHeld is target for a static grant held by the process at holder.
func (r *remote) targetHeld(ref wire.Ref, holder string) *remoteProcess {
	key := rpKey{node: ref.Node, inc: ref.Inc, token: ref.Token, path: ref.Path, holder: holder}
	if ref.Path != "" {
		key.inc = 0 // a static grant outlives the owner's incarnations
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.imports[key]; ok {
		if rp := w.Value(); rp != nil {
			return rp
		}
	}
	rp := &remoteProcess{id: r.n.nextID.Add(1), ref: wire.Ref{Node: key.node, Inc: key.inc, Token: key.token, Path: key.path}, holder: holder}
	if key.path == "" && key.node != r.self {
		r.trackImport(rp)
	}
	if len(r.imports) >= maxImports {
		for k, w := range r.imports {
			if w.Value() == nil {
				delete(r.imports, k)
			}
		}
	}
	if len(r.imports) < maxImports {
		r.imports[key] = weak.Make(rp)
	}
	return rp
}

// holdKey names the state with one peer that one process holds.
type holdKey struct{ peer, holder string }

// charge counts one more entry for peer, held by holder (a local path,
// or "node:path" for a peer's process), or refuses past the peer's bound
// or the holder's share of it. r.mu must be held.
func (r *remote) charge(peer, holder, what string) error {
	if r.perPeer[peer] >= maxPeerState {
		return fmt.Errorf("%s: %w: %d monitors, links and requests with node %s; the limit is %d",
			what, isolate.ErrClusterLimit, r.perPeer[peer], peer, maxPeerState)
	}
	hk := holdKey{peer, holder}
	if k := r.stateBy[hk]; k >= r.holdMax {
		return fmt.Errorf("%s: %w: %s has %d monitors, links and requests with node %s; the limit is %d",
			what, isolate.ErrClusterLimit, holder, k, peer, r.holdMax)
	}
	r.perPeer[peer]++
	r.stateBy[hk]++
	return nil
}

// holderFull reports whether holder has its whole share of peer's state.
// r.mu must be held.
func (r *remote) holderFull(peer, holder string) bool {
	return r.stateBy[holdKey{peer, holder}] >= r.holdMax
}

// refund undoes charge. r.mu must be held.
func (r *remote) refund(peer, holder string) {
	if r.perPeer[peer]--; r.perPeer[peer] <= 0 {
		delete(r.perPeer, peer)
	}
	hk := holdKey{peer, holder}
	if r.stateBy[hk]--; r.stateBy[hk] <= 0 {
		delete(r.stateBy, hk)
		delete(r.swept, hk)
	}
}

// forgetPeer drops the counts of peer's state, all of it gone with the
// peer. r.mu must be held.
func (r *remote) forgetPeer(peer string) {
	delete(r.perPeer, peer)
	for hk := range r.stateBy {
		if hk.peer == peer {
			delete(r.stateBy, hk)
		}
	}
	for hk := range r.swept {
		if hk.peer == peer {
			delete(r.swept, hk)
		}
	}
}

// peerHolder names a peer's process as a holder of state here.
func peerHolder(peer, from string) string { return peer + ":" + truncate(from, 256) }

// setPeer records peer up as incarnation inc, or down if !up, and
// publishes the new table for peerUp. r.mu must be held.
func (r *remote) setPeer(peer string, inc uint64, up bool) {
	if up {
		r.peers[peer] = inc
	} else {
		delete(r.peers, peer)
	}
	m := make(map[string]uint64, len(r.peers))
	for p, i := range r.peers {
		m[p] = i
	}
	r.upPeers.Store(&m)
}

// peerUp reports, without r.mu, whether peer is up and its incarnation,
// as r.peers had them a moment ago.
func (r *remote) peerUp(peer string) (uint64, bool) {
	m := r.upPeers.Load()
	if m == nil {
		return 0, false
	}
	inc, ok := (*m)[peer]
	return inc, ok
}

// up checks that peer is up and returns its incarnation. r.mu must be held.
func (r *remote) up(peer string) (uint64, error) {
	inc, ok := r.peers[peer]
	if !ok {
		return 0, noConnection(peer)
	}
	return inc, nil
}

func noConnection(peer string) error {
	return fmt.Errorf("%w: node %s", isolate.ErrNoConnection, peer)
}

// admitPeer learns that peer is up from the transport, if a frame or a
// request comes before the transport's PeerUp.
func (r *remote) admitPeer(peer string) {
	if _, ok := r.peerUp(peer); ok || peer == r.self {
		return
	}
	if inc, up := r.t.Peer(peer); up {
		r.mu.Lock()
		if _, ok := r.peers[peer]; !ok {
			r.setPeer(peer, inc, true)
		}
		r.mu.Unlock()
	}
}

// reach checks that rp's node is up and that rp still names a process
// there: a token of an earlier incarnation names none.
func (r *remote) reach(rp *remoteProcess) error {
	if rp.ref.Node == r.self {
		return fmt.Errorf("%w: a reference to an earlier run of this node", isolate.ErrNoProc)
	}
	inc, ok := r.peerUp(rp.ref.Node)
	if !ok {
		r.admitPeer(rp.ref.Node)
		var err error
		r.mu.Lock()
		inc, err = r.up(rp.ref.Node)
		r.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if rp.ref.Path == "" && rp.ref.Inc != inc {
		return fmt.Errorf("%w: a reference to an earlier run of node %s", isolate.ErrNoProc, rp.ref.Node)
	}
	return nil
}

// wireRef is the reference to rp a frame names.
func (r *remote) wireRef(rp *remoteProcess, c *capability.Capability) wire.Ref {
	ref := rp.ref
	if c != nil {
		ref.Rights = uint16(c.Rights())
	}
	return ref
}

// send hands f to the transport; its refusals become the errors scripts
// and Go callers know.
func (r *remote) send(peer string, f *wire.Frame) error {
	err := r.t.Send(peer, f)
	if err != nil {
		r.unsentEnv(peer, f.Env)
	}
	return sendError(peer, err)
}

// sendError is a transport's refusal of a frame to peer as scripts and Go
// callers know it.
func sendError(peer string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wire.ErrBackpressure):
		return fmt.Errorf("%w: too much is in flight to node %s", isolate.ErrMailboxFull, peer)
	case errors.Is(err, wire.ErrNoConnection):
		return noConnection(peer)
	}
	return fmt.Errorf("node %s: %w", peer, err)
}

// mint returns the token that stands for c, minting it if c has none,
// and counts it sent to peer.
func (r *remote) mint(c *capability.Capability, p *Process, holder, peer string) (wire.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tok, ok := r.exportOf[c]; ok {
		r.exports[tok].hold(peer)
		return tok, nil
	}
	plain := c.Unrevocable()
	pk := plainKey{target: c.Target(), rights: c.Rights(), holder: holder}
	if plain {
		if tok, ok := r.exportPl[pk]; ok {
			r.exports[tok].hold(peer)
			return tok, nil
		}
	}
	full := func() bool { return len(r.exports) >= maxExports || r.exportsBy[holder] >= maxHolderExports }
	// Sweep as the table grows, and now and then while it refuses: a
	// sweep reads every entry, so a full table does not pay one each time.
	if len(r.exports) >= 2*r.sweptAt+1024 || (full() && r.refusedAt >= 1024) {
		r.sweepExports()
	}
	if full() {
		r.refusedAt++
		if len(r.exports) >= maxExports {
			return wire.Token{}, fmt.Errorf("%w: %d capabilities are exported to other nodes; the limit is %d",
				isolate.ErrClusterLimit, len(r.exports), maxExports)
		}
		return wire.Token{}, fmt.Errorf("%w: %s has %d capabilities exported to other nodes; the limit is %d",
			isolate.ErrClusterLimit, holder, r.exportsBy[holder], maxHolderExports)
	}
	tok := wire.Token(capability.NewToken())
	e := &export{cap: c, proc: p, holder: holder, plain: plain}
	e.hold(peer)
	r.exports[tok] = e
	r.exportsBy[holder]++
	if plain {
		r.exportPl[pk] = tok
	} else {
		r.exportOf[c] = tok
	}
	return tok, nil
}

// sweepExports drops the tokens that can never act again: those of
// dynamic children whose slot is gone, of revoked capabilities, and of
// forwarders to a node's incarnation that another has replaced. r.mu
// must be held.
func (r *remote) sweepExports() {
	for tok, e := range r.exports {
		if r.deadExport(e) {
			r.dropExport(tok, e)
		}
	}
	r.sweptAt, r.refusedAt = len(r.exports), 0
}

// dropExport forgets the token tok of e. r.mu must be held.
func (r *remote) dropExport(tok wire.Token, e *export) {
	delete(r.exports, tok)
	delete(r.exportOf, e.cap)
	if r.exportsBy[e.holder]--; r.exportsBy[e.holder] <= 0 {
		delete(r.exportsBy, e.holder)
	}
	if e.plain {
		delete(r.exportPl, plainKey{target: e.cap.Target(), rights: e.cap.Rights(), holder: e.holder})
	}
}

// deadExport reports whether e can never act again. r.mu must be held.
func (r *remote) deadExport(e *export) bool {
	if e.cap.Revoked() {
		return true
	}
	if p := e.proc; p != nil && p.dynamic {
		q, ok := r.n.Process(p.id)
		return !ok || q != p
	}
	if rp := remoteOf(e.cap); rp != nil && rp.ref.Path == "" {
		inc, up := r.peers[rp.ref.Node]
		return up && inc != rp.ref.Inc
	}
	return false
}

// exportCap is the reference peer receives for c ("" for a peer not
// known: the token is then kept until revoked).
func (r *remote) exportCap(c *capability.Capability, holder, peer string) (wire.Ref, error) {
	switch t := c.Target().(type) {
	case *Process:
		if t.node != r.n {
			return wire.Ref{}, errors.New("a capability of another node's process")
		}
		tok, err := r.mint(c, t, holder, peer)
		if err != nil {
			return wire.Ref{}, err
		}
		return wire.Ref{Node: r.self, Inc: r.inc, Token: tok, Rights: uint16(c.Rights())}, nil
	case *remoteProcess:
		if t.ref.Node == r.self {
			// A reference a peer sent that names nothing here (an unknown
			// token, or one of an earlier run): it travels as it came, and
			// still names nothing.
			return r.wireRef(t, c), nil
		}
		if t.ref.Path == "" && t.isPlain(c) {
			if peer != t.ref.Node {
				r.handOn(t) // a third node may hold it now: its owner keeps it
			}
			return r.wireRef(t, c), nil
		}
		// Narrowed here, or a static grant only its holder may use: the
		// peer reaches it through this node, which checks c.
		tok, err := r.mint(c, nil, holder, peer)
		if err != nil {
			return wire.Ref{}, err
		}
		return wire.Ref{Node: r.self, Inc: r.inc, Token: tok, Rights: uint16(c.Rights())}, nil
	}
	return wire.Ref{}, &isolate.CloneError{Path: "msg", Reason: "a reply handle or an HTTP grant does not reach another node"}
}

// exportEnv converts env for a frame to peer; holder is the process
// that sends it.
func (r *remote) exportEnv(env *mailbox.Envelope, holder, peer string) (*wire.Envelope, error) {
	return r.exportEnvTo(nil, env, holder, peer)
}

// exportEnvTo is exportEnv into we, if not nil, instead of a new
// envelope.
func (r *remote) exportEnvTo(we *wire.Envelope, env *mailbox.Envelope, holder, peer string) (*wire.Envelope, error) {
	if env == nil {
		return nil, nil
	}
	if we == nil {
		we = new(wire.Envelope)
	}
	*we = wire.Envelope{Data: env.Data()}
	if caps := env.Caps(); len(caps) > 0 {
		we.Caps = make([]wire.Ref, len(caps))
		for i, c := range caps {
			ref, err := r.exportCap(c, holder, peer)
			if err != nil {
				r.unsentRefs(peer, we.Caps[:i])
				return nil, fmt.Errorf("capability %d of the message: %w", i, err)
			}
			we.Caps[i] = ref
		}
	}
	return we, nil
}

// importRef is the capability a reference from a peer stands for here: the
// original object for a token of this node, a remote capability otherwise.
func (r *remote) importRef(ref wire.Ref) (*capability.Capability, error) {
	rights := capability.Rights(ref.Rights) & capability.All
	switch {
	case ref.Node == "":
		return nil, errors.New("a reference names no node")
	case ref.Path != "":
		// A static grant is its holder's alone: it never travels.
		return nil, errors.New("a static-grant reference cannot travel in a message")
	case ref.Node == r.self:
		if ref.Inc == r.inc {
			// A token of this node coming home: no receipt to count.
			r.mu.Lock()
			e := r.exports[ref.Token]
			r.mu.Unlock()
			if e != nil {
				return e.cap, nil
			}
		}
		// Unknown, or of an earlier run: a handle that reaches nothing.
		return capability.New(r.target(wire.Ref{Node: r.self, Inc: ref.Inc, Token: ref.Token}), rights), nil
	}
	rp := r.target(ref)
	rp.imp.received()
	return rp.plainCap(rights), nil
}

// importEnv converts an envelope a peer sent.
func (r *remote) importEnv(we *wire.Envelope) (*mailbox.Envelope, error) {
	if we == nil {
		return nil, nil
	}
	env := new(mailbox.Envelope)
	if err := r.importEnvTo(env, we, nil); err != nil {
		return nil, err
	}
	return env, nil
}

// importEnvTo converts an envelope a peer sent into dst. The message
// bytes are copied, since the transport lends them (wire.Borrower): into
// buf when they fit, else into a slice of their own.
func (r *remote) importEnvTo(dst *mailbox.Envelope, we *wire.Envelope, buf []byte) error {
	var caps []*capability.Capability
	if len(we.Caps) > 0 {
		caps = make([]*capability.Capability, len(we.Caps))
		for i, ref := range we.Caps {
			c, err := r.importRef(ref)
			if err != nil {
				r.releaseRefs(we.Caps[i:]) // those before i were imported: collected, they are released
				return fmt.Errorf("capability %d: %w", i, err)
			}
			caps[i] = c
		}
	}
	var data []byte
	if n := len(we.Data); n > 0 && n <= len(buf) {
		data = buf[:n:n]
		copy(data, we.Data)
	} else if n > 0 {
		data = bytes.Clone(we.Data)
	}
	*dst = *mailbox.NewEnvelope(data, caps)
	// Bytes that no encoder wrote would fail to decode in the receiver's
	// turn, and crash it: a send right would be a kill right.
	return codec.Check(dst)
}

// wireError is err as a frame carries it.
func wireError(err error) *wire.Error {
	we := &wire.Error{Code: wire.ErrOther, Message: truncate(err.Error(), maxRemoteMessage)}
	var de *capability.DeniedError
	switch {
	case errors.As(err, &de):
		we.Code, we.Need, we.Revoked = wire.ErrDenied, uint16(de.Need), de.Revoked
	case errors.Is(err, capability.ErrDenied):
		we.Code = wire.ErrDenied
	case errors.Is(err, isolate.ErrNoProc), errors.Is(err, isolate.ErrNoConnection):
		we.Code = wire.ErrNoProc
	case errors.Is(err, isolate.ErrMailboxFull):
		we.Code = wire.ErrMailboxFull
	case errors.Is(err, isolate.ErrCalleeCrashed), errors.Is(err, isolate.ErrCallFailed):
		we.Code = wire.ErrCalleeCrash
	case errors.Is(err, isolate.ErrCallDepth):
		we.Code = wire.ErrCallDepth
	case errors.Is(err, ErrNoInspect):
		we.Code = wire.ErrNoInspect
	}
	return we
}

// remoteError is an error a peer reported: its text, and the sentinel of
// its kind, so errors.Is and the JS error names work as on one node.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// localError rebuilds the typed error a peer reported for op.
func localError(op string, we *wire.Error) error {
	if we == nil {
		return errors.New(op + ": the node answered with neither a result nor an error")
	}
	msg := truncate(we.Message, maxRemoteMessage)
	var kind error
	switch we.Code {
	case wire.ErrDenied:
		need := capability.Rights(we.Need) & capability.All
		if need == 0 && !we.Revoked {
			return &remoteError{msg: msg, kind: capability.ErrDenied}
		}
		return &capability.DeniedError{Op: op, Need: need, Revoked: we.Revoked}
	case wire.ErrNoProc:
		kind = isolate.ErrNoProc
	case wire.ErrMailboxFull:
		kind = isolate.ErrMailboxFull
	case wire.ErrCalleeCrash:
		kind = isolate.ErrCalleeCrashed
	case wire.ErrCallDepth:
		kind = isolate.ErrCallDepth
	case wire.ErrNoInspect:
		kind = ErrNoInspect
	default:
		return errors.New(msg)
	}
	return &remoteError{msg: msg, kind: kind}
}
