package actor_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
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
