package actor_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/mailbox"
)

// eventLog collects a node's events.
type eventLog struct {
	mu  sync.Mutex
	evs []actor.Event
}

func recordEvents(n *actor.Node) *eventLog {
	l := &eventLog{}
	n.Subscribe(func(ev actor.Event) {
		l.mu.Lock()
		l.evs = append(l.evs, ev)
		l.mu.Unlock()
	})
	return l
}

func (l *eventLog) all() []actor.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

// deniedPaths returns the paths the Denied and LimitHit events name.
func (l *eventLog) deniedPaths() []string {
	var out []string
	for _, ev := range l.all() {
		switch e := ev.(type) {
		case actor.Denied:
			out = append(out, "denied:"+e.Op+":"+e.Path)
		case actor.LimitHit:
			out = append(out, "limit:"+e.Limit+":"+e.Path)
		}
	}
	return out
}

// forwardJS sends msg.m to the capability msg.to.
const forwardJS = `
export function receive(msg) { if (msg.to) msg.to.send(msg.m); }`

// A peer answers one-way frames with refusals of its own making: naming a
// local process that sent it nothing, echoing a real frame's refusal twice,
// or naming another peer's frame. Only the refusal of a frame this node
// sent that peer becomes an event, once, naming the process that sent it,
// whatever the refusal says; the rest are dropped and counted.
func TestRemote_ForgedAndReplayedRefusalsAreDropped(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", forwardJS), worker(t, "v", forwardJS))
	evs := recordEvents(n)
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	refused := func(peer string, id uint64, from string, code wire.ErrCode) {
		n.Deliver(peer, &wire.Frame{Kind: wire.KindRefused, ID: id, From: from,
			Err: &wire.Error{Code: code, Message: "send: refused", Need: uint16(capability.Send)}})
	}
	dropped := func() uint64 {
		info, _ := n.ClusterInfo()
		return info.RefusalsDropped
	}

	// Forged: nothing was sent to x, yet x names w, v, and made-up ids.
	refused("x", 0, "w", wire.ErrDenied)
	refused("x", 1, "v", wire.ErrMailboxFull)
	refused("x", 1<<40, "w", wire.ErrDenied)
	if got := dropped(); got != 3 {
		t.Fatalf("RefusalsDropped = %d after three forged refusals, want 3", got)
	}

	// w sends one message to a process of x.
	wc, wRef := exported(t, n, "w")
	n.Deliver("x", &wire.Frame{Kind: wire.KindSend, To: wRef, From: "p", Env: wireMsg(t, map[string]any{"to": wc, "m": "hi"}, peerToken("x", capability.Send))})
	sent := tr.waitSent(t, 0, "w has not sent to x yet", isFrame("x", wire.KindSend, 0))
	if sent.ID == 0 {
		t.Fatal("a one-way frame carries no reference for its refusal to name")
	}
	// y names x's frame; x names it under another process's path, then
	// again (a replay).
	refused("y", sent.ID, "w", wire.ErrDenied)
	refused("x", sent.ID, "v", wire.ErrDenied)
	refused("x", sent.ID, "w", wire.ErrDenied)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := dropped(); got != 5 {
			return fmt.Errorf("RefusalsDropped = %d, want 5 (three forged, y's, the replay)", got)
		}
		return nil
	})
	want := []string{"denied:send:w"}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := evs.deniedPaths(); !slices.Equal(got, want) {
			return fmt.Errorf("events = %v, want %v: only the refusal of w's frame, naming w", got, want)
		}
		return nil
	})
}

// outboxOf returns the outbox bytes of the process at path on n.
func outboxOf(t *testing.T, n *actor.Node, path string) int64 {
	t.Helper()
	return mustLookup(t, n, path).OutboxBytes()
}

// A sender's messages to another node count against its outbox quota
// from when they are queued until that node has taken them: past the
// quota the sender gets MailboxFull, as on one node, and the bytes come
// back once the messages arrive, or once their node is lost.
func TestRemote_OutboxQuotaCountsMessagesInFlightToOtherNodes(t *testing.T) {
	const quota = 1000
	root := remoteTree(t)
	for i := range root.Children {
		if root.Children[i].Name == "a1" {
			root.Children[i].Mailbox.OutboxBytes = quota
		}
	}
	cl, _ := newClusterOf(t, 4096, root)
	a := cl.node("a")

	cl.net.pause()
	v, err := cl.tryCall("a", "a1", map[string]any{"op": "sendMany", "n": 500})
	if err != nil {
		cl.net.resume()
		t.Fatal(err)
	}
	inFlight := outboxOf(t, a, "a1")
	cl.net.resume()
	if jsError(v) != "MailboxFull" || !strings.Contains(fmt.Sprint(v), "waiting in other mailboxes") {
		t.Fatalf("500 sends to a node that takes none: %v, want MailboxFull from a1's outbox quota", v)
	}
	if inFlight <= quota/2 || inFlight > quota {
		t.Fatalf("a1's outbox held %d bytes with its messages in flight, want up to its quota %d", inFlight, quota)
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		var limits int
		for _, ev := range cl.events("a") {
			if lh, ok := ev.(actor.LimitHit); ok && lh.Limit == mailbox.LimitOutbox && lh.Path == "a1" {
				limits++
			}
		}
		if limits != 1 {
			return fmt.Errorf("%d outbox LimitHit events naming a1, want 1", limits)
		}
		return nil
	})
	// b takes them: the quota is a1's again.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := outboxOf(t, a, "a1"); n != 0 {
			return fmt.Errorf("a1's outbox holds %d bytes after b took its messages", n)
		}
		return nil
	})
	log, _ := cl.call("b", "b1", map[string]any{"type": "log"}).([]any)
	if len(log) == 0 || len(log) >= 500 {
		t.Fatalf("b1 received %d messages, want those sent before the quota refused one", len(log))
	}

	// Messages in flight to a node that is lost come back too.
	cl.net.pause()
	v, err = cl.tryCall("a", "a1", map[string]any{"op": "sendMany", "n": 10})
	if err != nil || v != true {
		cl.net.resume()
		t.Fatalf("10 sends: %v, %v", v, err)
	}
	if n := outboxOf(t, a, "a1"); n <= 0 {
		cl.net.resume()
		t.Fatalf("a1's outbox holds %d bytes with 10 messages in flight", n)
	}
	cl.net.cut("b")
	cl.net.resume()
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := outboxOf(t, a, "a1"); n != 0 {
			return fmt.Errorf("a1's outbox holds %d bytes after node b was lost", n)
		}
		return nil
	})
}

// A token a node received is released to its owner once nothing on the
// node refers to it any more, with the count of its receipts; a token
// the node hands on to a third node is pinned at its owner instead, and
// never released.
func TestRemote_TokensNoLongerHeldAreReleasedHandedOnArePinned(t *testing.T) {
	n, tr := soloNode(t)
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	released, handed := peerToken("x", capability.Send), peerToken("x", capability.Send)
	func() {
		for range 3 {
			if _, err := actor.ImportRef(n, released); err != nil {
				t.Fatal(err)
			}
		}
		c, err := actor.ImportRef(n, handed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := actor.ExportRefTo(n, c, "y"); err != nil {
			t.Fatal(err)
		}
	}()
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		runtime.GC()
		info, _ := n.ClusterInfo()
		if info.ReleasesSent == 0 {
			return errors.New("no release sent yet")
		}
		return nil
	})
	var got []string
	for _, s := range tr.frames() {
		switch s.f.Kind {
		case wire.KindRelease, wire.KindPinned:
			which := "released"
			if s.f.To.Token == handed.Token {
				which = "handed"
			}
			got = append(got, fmt.Sprintf("%d to %s: %s x%d", s.f.Kind, s.to, which, s.f.ID))
		}
	}
	want := []string{
		fmt.Sprintf("%d to x: handed x0", wire.KindPinned),
		fmt.Sprintf("%d to x: released x3", wire.KindRelease),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("frames to the owner: %v, want %v", got, want)
	}
}

// The owner of a token drops it once every node it was sent to has
// released it; a release from a node that was not sent it, or for more
// receipts than it was sent, and a pin from such a node, are refused and
// change nothing.
func TestRemote_ForgedReleasesAndPinsAreRefused(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", forwardJS))
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	wc, err := n.Capability("w", capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := actor.ExportRefTo(n, wc, "y") // sent to y once
	if err != nil {
		t.Fatal(err)
	}
	release := func(peer string, kind wire.Kind, id uint64) {
		n.Deliver(peer, &wire.Frame{Kind: kind, To: wire.Ref{Node: tok.Node, Inc: tok.Inc, Token: tok.Token}, ID: id})
	}
	refused := func() uint64 {
		info, _ := n.ClusterInfo()
		return info.ReleasesRefused
	}
	release("x", wire.KindRelease, 1) // x was never sent it
	release("x", wire.KindPinned, 0)  // nor may x pin it
	release("y", wire.KindRelease, 2) // y got it once
	release("y", wire.KindRelease, 0) // a release of nothing
	if got := refused(); got != 4 {
		t.Fatalf("ReleasesRefused = %d, want 4", got)
	}
	if k := actor.RemoteExports(n); k != 1 {
		t.Fatalf("%d exports after refused releases, want the token kept", k)
	}
	release("y", wire.KindRelease, 1)
	if k := actor.RemoteExports(n); k != 0 {
		t.Fatalf("%d exports after y released the token, want 0", k)
	}
	// Sent to y again after the release: a new token, held anew.
	tok2, err := actor.ExportRefTo(n, wc, "y")
	if err != nil {
		t.Fatal(err)
	}
	if tok2.Token == tok.Token {
		t.Fatal("a released token was handed out again")
	}
	n.Deliver("y", &wire.Frame{Kind: wire.KindSend, To: tok, From: "p", Env: wireMsg(t, "stale")})
	tr.waitSent(t, 0, "a use of the released token was not refused noproc", func(to string, f *wire.Frame) bool {
		return to == "y" && f.Kind == wire.KindRefused && f.Err != nil && f.Err.Code == wire.ErrNoProc
	})
	// Lost with its holder: y's new incarnation holds nothing of the old.
	tr.down(n, "y", 1)
	if k := actor.RemoteExports(n); k != 0 {
		t.Fatalf("%d exports after the holder node was lost, want 0", k)
	}
}

// Across a cluster: a script that lends a new revocable capability to a
// process of another node again and again leaves the lender's node with
// one token per loan while the holder's incarnation runs (it records what
// it received, for operators), and with none once it has ended and its
// node collected it; the tokens a lost node held are dropped with it.
func TestRemote_LoansAreReleasedWhenTheirHolderLetsThemGo(t *testing.T) {
	cl, _ := newCluster(t)
	a, c := cl.node("a"), cl.node("c")
	base := actor.RemoteExports(a)
	c1 := mustLookup(t, c, "c1")
	handled := c1.Handled()
	const loans = 40
	for range loans {
		if v := cl.call("a", "a1", map[string]any{"op": "giveRevocable"}); v != true {
			t.Fatalf("giveRevocable: %v", v)
		}
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := actor.RemoteExports(a) - base; k != loans {
			return fmt.Errorf("a exports %d tokens for %d loans", k, loans)
		}
		return nil
	})
	// Every loan has reached c1's incarnation before it is killed: a loan
	// still on its way to the mailbox would reach the next incarnation,
	// which would hold it. Node c counts a token imported before it queues
	// the message, so c1's turns are what tell: it has taken the 40
	// messages (nothing else is sent to it), and the call behind them
	// returns once the last turn has ended.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := c1.Handled() - handled; k < loans {
			return fmt.Errorf("c1 has taken %d of %d loans", k, loans)
		}
		return nil
	})
	cl.call("c", "c1", map[string]any{"type": "get"})
	inc := c1.Incarnation()
	if err := c.Kill(c1.ID()); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if c1.Incarnation() == inc || c1.Status() != actor.StatusRunning {
			return errors.New("c1 has not restarted yet")
		}
		return nil
	})
	// c's garbage collector finds the loans unreferenced; c releases them
	// and a drops them.
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		runtime.GC()
		if k := actor.RemoteExports(a) - base; k != 0 {
			return fmt.Errorf("a still exports %d of %d loans whose holder ended", k, loans)
		}
		return nil
	})

	// A loan held works, and goes with its node.
	if v := cl.call("a", "a1", map[string]any{"op": "giveRevocable"}); v != true {
		t.Fatalf("giveRevocable: %v", v)
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("c", "c1", map[string]any{"type": "sendKept", "m": map[string]any{"type": "inc"}}); v != true {
			return fmt.Errorf("c1's kept loan: %v", v)
		}
		return nil
	})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := num(cl.call("b", "b1", map[string]any{"type": "get"})); n < 1 {
			return fmt.Errorf("b1 counted %d", n)
		}
		return nil
	})
	if k := actor.RemoteExports(a) - base; k != 1 {
		t.Fatalf("a exports %d tokens for the one loan held", k)
	}
	cl.net.cut("c")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := actor.RemoteExports(a) - base; k != 0 {
			return fmt.Errorf("a still exports %d loans to the lost node c", k)
		}
		return nil
	})
}

// A message a node refuses without taking its capabilities in releases
// the tokens it carried at once: their owner counted them sent.
func TestRemote_TokensInARefusedMessageAreReleasedAtOnce(t *testing.T) {
	n, tr := soloNode(t)
	tr.up(n, "x", 1)
	xTok := peerToken("x", capability.Send)
	wc := capability.New(nil, capability.Send) // any capability: the message is refused first
	n.Deliver("x", &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "solo", Inc: 7, Token: wire.Token{9}}, From: "p",
		Env: wireMsg(t, []any{wc, wc}, xTok, xTok)})
	var rel *wire.Frame
	for _, s := range tr.frames() {
		if s.to == "x" && s.f.Kind == wire.KindRelease {
			rel = s.f
		}
	}
	if rel == nil || rel.To.Token != xTok.Token || rel.ID != 2 {
		t.Fatalf("release after the refusal: %+v, want x's token released for 2 receipts", rel)
	}
}
