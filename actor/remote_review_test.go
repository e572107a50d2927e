package actor_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"

	"go.uber.org/goleak"
)

// Tests of what a peer, or a node's own tenants over time, could do to a
// node: each played a finding of the review of the cluster code.

// sentFrame is a frame a node sent, with the peer it went to.
type sentFrame struct {
	to string
	f  *wire.Frame
}

// peerTransport records what a node sends; the peers it reports up are
// those the test said.
type peerTransport struct {
	mu    sync.Mutex
	sent  []sentFrame
	peers map[string]uint64
	// hook, if set, sees every frame before it is sent; an error it
	// returns refuses the frame.
	hook func(to string, f *wire.Frame) error
}

func (p *peerTransport) Self() string        { return "solo" }
func (p *peerTransport) Incarnation() uint64 { return 7 }
func (p *peerTransport) Peer(name string) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inc, ok := p.peers[name]
	return inc, ok
}

func (p *peerTransport) Send(to string, f *wire.Frame) error {
	p.mu.Lock()
	hook := p.hook
	p.mu.Unlock()
	if hook != nil {
		if err := hook(to, f); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.peers[to]; !ok {
		return wire.ErrNoConnection
	}
	p.sent = append(p.sent, sentFrame{to, copyFrame(f)})
	return nil
}

// up reports peer's incarnation inc up, to the transport and the node.
func (p *peerTransport) up(n *actor.Node, peer string, inc uint64) {
	p.mu.Lock()
	p.peers[peer] = inc
	p.mu.Unlock()
	n.PeerUp(peer, inc)
}

// down reports peer's incarnation inc lost.
func (p *peerTransport) down(n *actor.Node, peer string, inc uint64) {
	p.mu.Lock()
	delete(p.peers, peer)
	p.mu.Unlock()
	n.PeerDown(peer, inc)
}

func (p *peerTransport) frames() []sentFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

// soloNode starts a clustered node named solo, with the given children,
// on a transport the test plays the peers of.
func soloNode(t *testing.T, children ...actor.ChildSpec) (*actor.Node, *peerTransport) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	tr := &peerTransport{peers: make(map[string]uint64)}
	n, err := actor.NewNode(actor.Options{Cluster: tr})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1000, time.Second), Children: children}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n, tr
}

// wireMsg encodes v as a peer would send it, with refs for the
// capabilities v carries, in order.
func wireMsg(t *testing.T, v any, refs ...wire.Ref) *wire.Envelope {
	t.Helper()
	env, err := codec.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Caps()) != len(refs) {
		t.Fatalf("the message carries %d capabilities, %d refs given", len(env.Caps()), len(refs))
	}
	return &wire.Envelope{Data: env.Data(), Caps: refs}
}

// exported returns an all-rights capability of the process at path and
// the reference a peer receives for it.
func exported(t *testing.T, n *actor.Node, path string) (*capability.Capability, wire.Ref) {
	t.Helper()
	c, err := n.Capability(path, capability.All)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := actor.ExportRef(n, c)
	if err != nil {
		t.Fatal(err)
	}
	return c, ref
}

// peerToken is a fresh token of node's incarnation 1 with rights, as that
// node would mint it.
func peerToken(node string, rights capability.Rights) wire.Ref {
	return wire.Ref{Node: node, Inc: 1, Token: wire.Token(capability.NewToken()), Rights: uint16(rights)}
}

// sentSince returns the first frame sent from the since-th on that match
// accepts, or nil.
func (p *peerTransport) sentSince(since int, match func(to string, f *wire.Frame) bool) *wire.Frame {
	for _, s := range p.frames()[since:] {
		if match(s.to, s.f) {
			return s.f
		}
	}
	return nil
}

// waitSent waits until a frame from the since-th on matches, and returns
// it; what says which frame, if none comes.
func (p *peerTransport) waitSent(t *testing.T, since int, what string, match func(to string, f *wire.Frame) bool) *wire.Frame {
	t.Helper()
	var f *wire.Frame
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if f = p.sentSince(since, match); f == nil {
			return errors.New(what)
		}
		return nil
	})
	return f
}

// isFrame matches a frame of kind to peer, and with id if it is not 0.
func isFrame(peer string, kind wire.Kind, id uint64) func(string, *wire.Frame) bool {
	return func(to string, f *wire.Frame) bool {
		return to == peer && f.Kind == kind && (id == 0 || f.ID == id)
	}
}

// relayJS answers a call {op: "relay", to} with the answer of a call to
// the capability to (or the error it rejects with), and {op: "ping"} with
// "pong".
const relayJS = `
export async function receive(msg, ctx) {
  if (msg.op === "relay") {
    try { return await msg.to.call("hi"); } catch (e) { return {error: e.name, message: e.message}; }
  }
  if (msg.op === "ping") return "pong";
}`

// A call a peer made is answered after that peer was lost and came back
// as a new incarnation: the answer must not reach the new incarnation,
// whose requests reuse the same ids and would take it for the answer to
// one of its own.
func TestReview_AnswerToALostIncarnationIsNotSent(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS))
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	c, w := exported(t, n, "w")
	// x calls w (id 5); w's turn calls a process of y and awaits it.
	n.Deliver("x", &wire.Frame{Kind: wire.KindCall, ID: 5, Depth: 1, To: w, From: "p",
		Env: wireMsg(t, map[string]any{"op": "relay", "to": c}, peerToken("y", capability.Send))})
	toY := tr.waitSent(t, 0, "w has not called y yet", isFrame("y", wire.KindCall, 0))
	// x is lost and comes back as a new incarnation.
	tr.down(n, "x", 1)
	tr.up(n, "x", 2)
	mark := len(tr.frames())
	// y answers; w's turn ends and answers the call of x's old incarnation.
	n.Deliver("y", &wire.Frame{Kind: wire.KindReply, ID: toY.ID, Env: wireMsg(t, "ok")})
	// The new x calls w (id 6): its answer comes after the first one.
	n.Deliver("x", &wire.Frame{Kind: wire.KindCall, ID: 6, Depth: 1, To: w, From: "p", Env: wireMsg(t, map[string]any{"op": "ping"})})
	tr.waitSent(t, mark, "no answer to the new x's call yet", isFrame("x", wire.KindReply, 6))
	if f := tr.sentSince(mark, isFrame("x", wire.KindReply, 5)); f != nil {
		t.Fatalf("the answer to the lost incarnation's call 5 went to its successor: %+v", f)
	}
}

// A script that attenuates a capability of another node's process for
// every message it sends on makes a new capability object each time; they
// all stand for the same authority, and must share one forwarder token
// instead of filling the node's export table, which would then refuse
// every tenant's capabilities to other nodes.
func TestReview_AttenuatedRemoteCapabilitiesShareOneToken(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS))
	tr.up(n, "x", 1)
	base := actor.RemoteExports(n)
	rc, err := actor.ImportRef(n, peerToken("x", capability.Send|capability.Monitor))
	if err != nil {
		t.Fatal(err)
	}
	var first wire.Ref
	for i := 0; i < 1000; i++ {
		a, err := rc.Attenuate(capability.Send)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := actor.ExportRef(n, a)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ref
		} else if ref != first {
			t.Fatalf("export %d of an equal attenuation is %+v, the first was %+v", i, ref, first)
		}
	}
	if got := actor.RemoteExports(n); got != base+1 {
		t.Fatalf("node exported %d capabilities for 1000 equal attenuations, want %d", got, base+1)
	}
	// A revocable forwarder is other authority.
	fwd, rv := rc.Revocable()
	r1, err := actor.ExportRef(n, fwd)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Token == first.Token {
		t.Fatal("a revocable forwarder shares the token of an unrevocable capability")
	}
	if got := actor.RemoteExports(n); got != base+2 {
		t.Fatalf("node exported %d capabilities, want %d", got, base+2)
	}
	// Revoked, it can never act again: its token is dropped.
	rv.Revoke()
	if got := actor.RemoteExports(n); got != base+1 {
		t.Fatalf("node holds %d exported capabilities after the revocation, want %d", got, base+1)
	}
}

// A peer can send a tenant references naming this node that name nothing
// (unknown tokens, tokens of an earlier run); a tenant that passes them
// on must not mint a forwarder for each, filling the export table: they
// travel as they are, and still name nothing.
func TestReview_DeadReferencesToThisNodeAreNotExported(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS))
	tr.up(n, "x", 1)
	base := actor.RemoteExports(n)
	for i := 0; i < 1000; i++ {
		in := wire.Ref{Node: "solo", Inc: uint64(i % 2 * 7), Token: wire.Token(capability.NewToken()), Rights: uint16(capability.Send)}
		c, err := actor.ImportRef(n, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := actor.ExportRef(n, c)
		if err != nil {
			t.Fatal(err)
		}
		if out.Node != "solo" || out.Token != in.Token || out.Inc != in.Inc {
			t.Fatalf("a dead reference %+v left as %+v", in, out)
		}
	}
	if got := actor.RemoteExports(n); got != base {
		t.Fatalf("node exported %d capabilities for dead references, want %d", got, base)
	}
}

// unplacedTree has u, run by every node, holding a grant over b1, placed
// on b; and a template supervisor, run by every node, whose children hold
// the same grant.
func unplacedTree(t *testing.T) actor.ChildSpec {
	const uJS = `
export async function receive(msg, ctx) {
  try { return await ctx.env.b1.call({type: "inc"}); }
  catch (e) { return {error: e.name, message: e.message}; }
}`
	u := worker(t, "u", uJS, actor.GrantSpec{Name: "b1", To: "b1", Rights: capability.Send})
	b1 := worker(t, "b1", remoteWorkerJS)
	b1.Node = "b"
	tmpl := worker(t, "k", uJS, actor.GrantSpec{Name: "b1", To: "b1", Rights: capability.Send})
	tmpl.Restart = actor.Temporary
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1000, time.Second), Children: []actor.ChildSpec{
		u, b1,
		{Name: "pool", Strategy: supervisor.NewOneForOne(100, time.Second), Template: &tmpl},
	}}
}

// A process every node runs (not placed) is placed on each node, the
// sender's included: its grants over processes placed elsewhere work from
// every node, as the manifest says, and so do those of the children of a
// template every node runs.
func TestReview_GrantsOfUnplacedProcessesReachOtherNodes(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	cl := &memCluster{t: t, net: newMemNet(), nodes: make(map[string]*actor.Node), evs: make(map[*actor.Node][]actor.Event),
		root: unplacedTree(t)}
	t.Cleanup(cl.stop)
	cl.start("a")
	cl.start("b")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		v, err := cl.tryCall("a", "u", "go")
		if err != nil {
			return err
		}
		if num(v) < 1 {
			return fmt.Errorf("u on a called b1 on b: %v, want a count", v)
		}
		return nil
	})
	a := cl.node("a")
	pool, err := a.Capability("pool", capability.Spawn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := a.SpawnKeyed(ctx, pool, "k1")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := a.Call(ctx, ch, "go", &v); err != nil {
		t.Fatal(err)
	}
	if num(v) < 2 {
		t.Fatalf("a child of pool on a called b1 on b: %v, want a count", v)
	}
}

// A script that sends a new revocable forwarder with every message to
// another node, and never revokes them, fills only its own share of the
// export table: the other processes of the node keep sending
// capabilities to other nodes. What it revokes makes room again.
func TestReview_OneProcessCannotFillTheExportTable(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS), worker(t, "v", relayJS))
	tr.up(n, "x", 1)
	w, err := n.Capability("w", capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	var revokers []*capability.Revoker
	for i := 0; i < actor.MaxHolderExports; i++ {
		fwd, rv := w.Revocable()
		revokers = append(revokers, rv)
		if _, err := actor.ExportRefAs(n, fwd, "w"); err != nil {
			t.Fatalf("export %d of w: %v", i, err)
		}
	}
	fwd, _ := w.Revocable()
	if _, err := actor.ExportRefAs(n, fwd, "w"); !errors.Is(err, isolate.ErrClusterLimit) {
		t.Fatalf("export past w's share: %v, want ErrClusterLimit", err)
	}
	if _, err := actor.ExportRefAs(n, fwd, "v"); err != nil {
		t.Fatalf("v exports a capability while w holds its whole share: %v", err)
	}
	for _, rv := range revokers[:10] {
		rv.Revoke()
	}
	// The revoked are swept now and then, not on every refusal.
	for i := 0; ; i++ {
		fwd, _ := w.Revocable()
		_, err := actor.ExportRefAs(n, fwd, "w")
		if err == nil {
			break
		}
		if i == 100_000 {
			t.Fatalf("w revoked 10 exported capabilities, and still cannot export one: %v", err)
		}
	}
}

// peerWatcherJS keeps two capabilities a peer sends it, monitors the first
// and links with the second on demand, and reports its notifications.
const peerWatcherJS = `
let notes = [];
let m = null, l = null;
export function init(args, ctx) { ctx.trapExits(true); }
export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) { notes.push(msg.type + ":" + msg.reason); return; }
  if (msg.op === "keep") { m = msg.m; l = msg.l; return; }
  if (msg.op === "monitor") { m.monitor(); return true; }
  if (msg.op === "link") { l.link(); return true; }
  if (msg.op === "notes") return notes;
}`

// A peer lost while a monitor or a link with one of its processes is
// being made, after the node registered it and before the frame went
// out: the watcher hears of the loss once, as on any other loss, not once
// from the loss and once more from the refused frame.
func TestReview_PeerLostDuringMonitorOrLinkNotifiesOnce(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", peerWatcherJS))
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	c, w := exported(t, n, "w")
	n.Deliver("x", &wire.Frame{Kind: wire.KindSend, To: w, From: "p", Env: wireMsg(t, map[string]any{"op": "keep", "m": c, "l": c},
		peerToken("x", capability.All), peerToken("y", capability.All))})
	// The transport loses the peer as the frame is handed to it.
	tr.mu.Lock()
	tr.hook = func(to string, f *wire.Frame) error {
		if f.Kind == wire.KindMonitor || f.Kind == wire.KindLink {
			tr.down(n, to, 1)
			return wire.ErrNoConnection
		}
		return nil
	}
	tr.mu.Unlock()
	notes := func() []any {
		var v []any
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Call(ctx, c, map[string]any{"op": "notes"}, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, op := range []string{"monitor", "link"} {
		var ok bool
		if err := n.Call(ctx, c, map[string]any{"op": op}, &ok); err != nil || !ok {
			t.Fatalf("%s: %v %v", op, ok, err)
		}
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := notes(); len(v) < 2 {
			return fmt.Errorf("notifications %v, want a down and an exit", v)
		}
		return nil
	})
	// One more turn: a duplicate queued with the first would be in now.
	if v := notes(); len(v) != 2 || !slices.Contains(v, any("down:noconnection")) || !slices.Contains(v, any("exit:noconnection")) {
		t.Fatalf("notifications %v, want one down:noconnection and one exit:noconnection", v)
	}
}

// A process ends as its watcher's node is lost; before its end runs the
// down of that node's monitor, the node comes back as a new incarnation
// and monitors it again under the same reference (its references start
// afresh). The late down of the lost incarnation's monitor must not fire
// the new one.
func TestReview_LateDownOfALostPeersMonitorDoesNotFireItsSuccessors(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS))
	tr.up(n, "x", 1)
	_, w := exported(t, n, "w")
	p := mustLookup(t, n, "w")
	n.Deliver("x", &wire.Frame{Kind: wire.KindMonitor, ID: 5, To: w, From: "p"})
	late := actor.MonitorNotifies(p)
	if len(late) != 1 {
		t.Fatalf("w holds %d monitors of other nodes, want 1", len(late))
	}
	tr.down(n, "x", 1)
	tr.up(n, "x", 2)
	n.Deliver("x", &wire.Frame{Kind: wire.KindMonitor, ID: 5, To: w, From: "p"})
	if k := len(actor.MonitorNotifies(p)); k != 1 {
		t.Fatalf("w holds %d monitors of other nodes, want the new incarnation's", k)
	}
	mark := len(tr.frames())
	late[0]("late")
	if f := tr.sentSince(mark, isFrame("x", wire.KindDown, 0)); f != nil {
		t.Fatalf("the lost incarnation's late down went to its successor: %+v", f)
	}
	// The new monitor still fires when w ends.
	if err := n.Stop(p.ID()); err != nil {
		t.Fatal(err)
	}
	tr.waitSent(t, mark, "no down for the new monitor", isFrame("x", wire.KindDown, 5))
}

// A peer that links w from ever new processes (their paths are the
// peer's to name) fills only its own share of w's links with other
// nodes: w still links with others, and other nodes still link with w.
func TestReview_APeerCannotTakeAProcesssLinks(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", peerWatcherJS))
	tr.up(n, "y", 1)
	tr.up(n, "z", 1)
	c, w := exported(t, n, "w")
	for id := uint64(101); id <= 10_101; id++ {
		n.Deliver("y", &wire.Frame{Kind: wire.KindLink, ID: id, To: w, From: fmt.Sprint("p", id)})
	}
	n.Deliver("z", &wire.Frame{Kind: wire.KindLink, ID: 1, To: w, From: "q"})
	n.Deliver("z", &wire.Frame{Kind: wire.KindSend, To: w, From: "p", Env: wireMsg(t, map[string]any{"op": "keep", "m": c, "l": c},
		peerToken("y", capability.All), peerToken("y", capability.All))})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ok bool
	if err := n.Call(ctx, c, map[string]any{"op": "link"}, &ok); err != nil || !ok {
		t.Fatalf("w links with a process on y: %v %v", ok, err)
	}
	// w's end reaches z's process, once.
	if err := n.Stop(mustLookup(t, n, "w").ID()); err != nil {
		t.Fatal(err)
	}
	exits := func(peer string) int {
		k := 0
		for _, s := range tr.frames() {
			if s.to == peer && s.f.Kind == wire.KindLinkExit {
				k++
			}
		}
		return k
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if exits("z") == 0 {
			return errors.New("w's end did not reach z")
		}
		return nil
	})
	if k := exits("z"); k != 1 {
		t.Fatalf("w's end reached z %d times, want once", k)
	}
}

// Message bytes from a peer are not the output of an encoder: a peer
// holding only a send right must not be able to crash w (and, crash after
// crash, its supervisor) with bytes that do not decode, in a message, a
// call or the answer to a call w made.
func TestReview_MalformedMessagesFromAPeerCrashNothing(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS))
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	c, w := exported(t, n, "w")
	p := mustLookup(t, n, "w")
	bad := [][]byte{nil, {0xc1}, {0x92, 0x01}, {0xd9, 0xff}, {0x81, 0xa1, 'a'}, {0xc0, 0xc0},
		{0xd6, 0x02, 0, 0, 0, 0},                       // a capability the envelope does not carry
		{0xd4, 0x63, 0},                                // an unknown extension
		append(slices.Repeat([]byte{0x91}, 200), 0xc0), // nested too deep
		emptyArrays(200_000),                           // 200 KB that would take w 115 MB of heap to build
		{0x81, 0x90, 0x01},                             // an array as a map key
	}
	id := uint64(100)
	for _, d := range bad {
		n.Deliver("x", &wire.Frame{Kind: wire.KindSend, To: w, From: "p", Env: &wire.Envelope{Data: d}})
		id++
		n.Deliver("x", &wire.Frame{Kind: wire.KindCall, ID: id, Depth: 1, To: w, From: "p", Env: &wire.Envelope{Data: d}})
	}
	// w calls y, which answers with bytes that do not decode.
	for _, d := range bad {
		mark := len(tr.frames())
		id++
		n.Deliver("x", &wire.Frame{Kind: wire.KindCall, ID: id, Depth: 1, To: w, From: "p",
			Env: wireMsg(t, map[string]any{"op": "relay", "to": c}, peerToken("y", capability.Send))})
		toY := tr.waitSent(t, mark, "w has not called y yet", isFrame("y", wire.KindCall, 0))
		n.Deliver("y", &wire.Frame{Kind: wire.KindReply, ID: toY.ID, Env: &wire.Envelope{Data: d}})
	}
	// A well-formed call after them all is answered by the same incarnation.
	id++
	last := id
	n.Deliver("x", &wire.Frame{Kind: wire.KindCall, ID: last, Depth: 1, To: w, From: "p", Env: wireMsg(t, map[string]any{"op": "ping"})})
	tr.waitSent(t, 0, "no answer to the last call yet", isFrame("x", wire.KindReply, last))
	if k := p.Restarts(); k != 0 {
		t.Fatalf("w restarted %d times under malformed messages from peers", k)
	}
	for _, s := range tr.frames() {
		if s.f.Kind == wire.KindReply && s.f.Err != nil && s.f.Err.Code == wire.ErrCalleeCrash {
			t.Fatalf("a call was answered %q: w crashed", s.f.Err.Message)
		}
	}
}

// emptyArrays encodes an array of k empty arrays.
func emptyArrays(k int) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(k))
	return append(b, slices.Repeat([]byte{0x90}, k)...)
}
