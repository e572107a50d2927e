package actor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/supervisor"

	"go.uber.org/goleak"
)

// greedyJS monitors b1 until it is refused, keeping the references;
// drop demonitors them all.
const greedyJS = `
let refs = [];
export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) return;
  switch (msg.op) {
    case "greedy":
      try {
        for (let i = 0; i < msg.n; i++) refs.push(ctx.env.b1.monitor());
        return {held: refs.length};
      } catch (e) {
        return {held: refs.length, error: e.name, message: e.message};
      }
    case "drop": {
      let k = 0;
      for (const r of refs) if (ctx.env.b1.demonitor(r)) k++;
      refs = [];
      return k;
    }
    case "crash": throw new Error("crash on purpose");
  }
}`

// otherJS calls, monitors and links b1 once each; ping only calls.
const otherJS = `
export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) return;
  ctx.trapExits(true);
  const b1 = ctx.env.b1;
  try {
    const n = await b1.call({type: "get"});
    if (msg.op === "ping") return n;
    b1.monitor();
    b1.link();
    return {called: n};
  } catch (e) {
    return {error: e.name, message: e.message};
  }
}`

// fairCluster is nodes a and b: greedy and other on a, b1 on b.
func fairCluster(t *testing.T) *memCluster {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	all := capability.Send | capability.Monitor | capability.Link
	g := worker(t, "greedy", greedyJS, actor.GrantSpec{Name: "b1", To: "b1", Rights: all})
	g.Node = "a"
	o := worker(t, "other", otherJS, actor.GrantSpec{Name: "b1", To: "b1", Rights: all})
	o.Node = "a"
	b1 := worker(t, "b1", remoteWorkerJS)
	b1.Node = "b"
	cl := &memCluster{t: t, net: newMemNet(), nodes: make(map[string]*actor.Node), evs: make(map[*actor.Node][]actor.Event),
		root: actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: []actor.ChildSpec{g, o, b1}}}
	t.Cleanup(cl.stop)
	cl.start("a")
	cl.start("b")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v, err := cl.tryCall("a", "other", map[string]any{"op": "ping"}); err != nil || jsError(v) != "" {
			return fmt.Errorf("other cannot reach b1 yet: %v %v", v, err)
		}
		return nil
	})
	return cl
}

func TestFair_OneProcessCannotTakeAPeerFromTheOthers(t *testing.T) {
	cl := fairCluster(t)
	a := cl.node("a")
	const share = 8
	actor.SetHolderPeerState(a, share)
	greedy := mustLookup(t, a, "greedy").Path()
	other := mustLookup(t, a, "other").Path()

	v := cl.call("a", "greedy", map[string]any{"op": "greedy", "n": 10 * share})
	m, _ := v.(map[string]any)
	if m["error"] != "RangeError" || num(m["held"]) != share {
		t.Fatalf("greedy monitoring: %v, want RangeError after %d monitors", v, share)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, greedy) || !strings.Contains(msg, fmt.Sprintf("limit is %d", share)) {
		t.Fatalf("the refusal %q names neither the process nor the limit", msg)
	}
	if k := actor.PeerStateOf(a, "b", greedy); k != share {
		t.Fatalf("greedy holds %d entries with b, want %d", k, share)
	}

	// Another process of a still calls, monitors and links b1.
	v = cl.call("a", "other", map[string]any{"op": "all"})
	if m, _ := v.(map[string]any); m == nil || m["error"] != nil {
		t.Fatalf("other's call, monitor and link: %v", v)
	}
	if k := actor.PeerStateOf(a, "b", other); k != 2 {
		t.Fatalf("other holds %d entries with b, want its monitor and link", k)
	}

	// Demonitoring frees the greedy process's share, here and on b.
	if v := cl.call("a", "greedy", map[string]any{"op": "drop"}); num(v) != share {
		t.Fatalf("greedy demonitored %v, want %d", v, share)
	}
	if k := actor.PeerStateOf(a, "b", greedy); k != 0 {
		t.Fatalf("greedy holds %d entries with b after demonitoring, want 0", k)
	}
	b := cl.node("b")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := actor.PeerStateOf(b, "a", "a:"+greedy); k != 0 {
			return fmt.Errorf("b keeps %d of greedy's monitors", k)
		}
		return nil
	})

	// It may take its share again; when it crashes, its share is freed
	// with the monitors of the ended incarnation on its next use.
	v = cl.call("a", "greedy", map[string]any{"op": "greedy", "n": 10 * share})
	if m, _ := v.(map[string]any); num(m["held"]) != share {
		t.Fatalf("greedy monitoring again: %v", v)
	}
	p := mustLookup(t, a, "greedy")
	inc := p.Incarnation()
	_, _ = cl.tryCall("a", "greedy", map[string]any{"op": "crash"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if p.Incarnation() == inc {
			return fmt.Errorf("greedy not restarted")
		}
		return nil
	})
	v = cl.call("a", "greedy", map[string]any{"op": "greedy", "n": 1})
	if m, _ := v.(map[string]any); m["error"] != nil || num(m["held"]) != 1 {
		t.Fatalf("the restarted greedy monitoring once: %v", v)
	}
	if k := actor.PeerStateOf(a, "b", greedy); k != 1 {
		t.Fatalf("greedy holds %d entries with b after its restart, want 1", k)
	}
}

// A peer's processes relaying monitors through a forwarder of this node
// (a capability of a third node's process that this node narrowed) are
// charged to the forwarder's holder: past its share they are refused,
// and the peer's loss gives the share back.
func TestFair_RelayedMonitorsAreChargedToTheForwardersHolder(t *testing.T) {
	n, tr := soloNode(t, worker(t, "w", relayJS))
	tr.up(n, "x", 1)
	tr.up(n, "y", 1)
	const share = 4
	actor.SetHolderPeerState(n, share)
	imported, err := actor.ImportRef(n, wire.Ref{Node: "y", Inc: 1, Token: wire.Token(capability.NewToken()), Rights: uint16(capability.All)})
	if err != nil {
		t.Fatal(err)
	}
	narrowed, err := imported.Attenuate(capability.Monitor)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := actor.ExportRefAs(n, narrowed, "w")
	if err != nil {
		t.Fatal(err)
	}
	if fwd.Node != "solo" {
		t.Fatalf("the narrowed capability travels as %+v, want a forwarder of solo", fwd)
	}
	// Each monitor comes from another process of x, so x's processes stay
	// within their own shares and only the forwarder's holder fills up.
	for i := 1; i <= 2*share; i++ {
		n.Deliver("x", &wire.Frame{Kind: wire.KindMonitor, To: fwd, From: fmt.Sprintf("p%d", i), ID: uint64(i)})
	}
	relayed, refused := 0, 0
	for _, sf := range tr.frames() {
		switch {
		case sf.to == "y" && sf.f.Kind == wire.KindMonitor:
			relayed++
		case sf.to == "x" && sf.f.Kind == wire.KindRefused:
			refused++
			if sf.f.Err == nil || !strings.Contains(sf.f.Err.Message, "w has") || !strings.Contains(sf.f.Err.Message, fmt.Sprintf("limit is %d", share)) {
				t.Fatalf("refusal %+v names neither the holder nor the limit", sf.f.Err)
			}
		}
	}
	if relayed != share || refused != share {
		t.Fatalf("%d monitors relayed to y and %d refused, want %d and %d", relayed, refused, share, share)
	}
	if k := actor.PeerStateOf(n, "y", "w"); k != share {
		t.Fatalf("w is charged %d entries with y, want %d", k, share)
	}
	if k := actor.PeerStateOf(n, "x", "x:p1"); k != 1 {
		t.Fatalf("x's process p1 is charged %d entries, want its monitor", k)
	}
	// x's loss drops its monitors, and the relayed ones with them.
	tr.down(n, "x", 1)
	if k := actor.PeerStateOf(n, "y", "w"); k != 0 {
		t.Fatalf("w is still charged %d entries with y after x was lost", k)
	}
	if k := actor.PeerStateOf(n, "x", "x:p1"); k != 0 {
		t.Fatalf("the lost x's process p1 is still charged %d entries", k)
	}
}
