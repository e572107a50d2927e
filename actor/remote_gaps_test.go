package actor_test

import (
	"errors"
	"fmt"
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
	wc, err := n.Capability("w", capability.All)
	if err != nil {
		t.Fatal(err)
	}
	xRef := wire.Ref{Node: "x", Inc: 1, Token: wire.Token(capability.NewToken()), Rights: uint16(capability.Send)}
	wRef, err := actor.ExportRef(n, wc)
	if err != nil {
		t.Fatal(err)
	}
	n.Deliver("x", &wire.Frame{Kind: wire.KindSend, To: wRef, From: "p", Env: wireMsg(t, map[string]any{"to": wc, "m": "hi"}, xRef)})
	var sent *wire.Frame
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		for _, s := range tr.frames() {
			if s.to == "x" && s.f.Kind == wire.KindSend {
				sent = s.f
				return nil
			}
		}
		return errors.New("w has not sent to x yet")
	})
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
