package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	"go.uber.org/goleak"
)

// The driver on node a: it acts on processes of nodes b and c through the
// grants the tree gives it, and reports what it saw.
const remoteDriverJS = `
let notes = [];
let kept = null;
let revoke = null;
export function init(args, ctx) { ctx.trapExits(true); }
export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) { notes.push(msg.type + ":" + msg.reason); return; }
  const b1 = ctx.env.b1;
  try {
    switch (msg.op) {
      case "ping": return "pong-a";
      case "call": return await b1.call(msg.m);
      case "sendMany": for (let i = 0; i < msg.n; i++) b1.send({type: "append", v: i}); return true;
      case "giveSelf": b1.send({type: "keep", cap: ctx.self.attenuate(["send"])}); return true;
      case "monitor": b1.monitor(); return true;
      case "link": b1.link(); return true;
      case "kill": ctx.env.b1k.kill(); return true;
      case "killNoRight": b1.kill(); return true;
      case "exit": b1.exit(msg.reason); return true;
      case "notes": return notes;
      case "spawn": { kept = await ctx.env.pool.spawn(msg.args); return await kept.call({type: "args"}); }
      case "spawnLinked": { kept = await ctx.env.pool.spawn(msg.args, {link: true}); return await kept.call({type: "args"}); }
      case "crash": throw new Error("crash on purpose");
      case "giveGrant": ctx.env.goa.send({op: "keep", cap: ctx.env.b1}); return true;
      case "sendStuck": for (let i = 0; i < msg.n; i++) ctx.env.stuck.send(i); return true;
      case "keepB1Self": kept = await b1.call({type: "self"}); return true;
      case "callKept": return await kept.call(msg.m);
      case "inspect": return await b1.inspect();
      case "giveRevocable": {
        const r = ctx.revocable(b1);
        revoke = r.revoke;
        ctx.env.c1.send({type: "keep", cap: r.cap.attenuate(["send"])});
        return true;
      }
      case "revoke": revoke(); return true;
    }
  } catch (e) {
    if (msg.op === "crash") throw e;
    return {error: e.name, message: e.message};
  }
}`

// A worker on nodes b and c: state, and a capability it was given.
const remoteWorkerJS = `
let count = 0;
let log = [];
let kept = null;
let notes = [];
export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) { notes.push(msg.type + ":" + msg.reason); return; }
  try {
    switch (msg.type) {
      case "inc": count++; return count;
      case "get": return count;
      case "append": log.push(msg.v); return;
      case "log": return log;
      case "keep": kept = msg.cap; return true;
      case "callKept": return await kept.call(msg.m);
      case "sendKept": kept.send(msg.m); return true;
      case "linkKept": ctx.trapExits(true); kept.link(); return true;
      case "self": return ctx.self;
      case "notes": return notes;
    }
  } catch (e) { return {error: e.name, message: e.message}; }
}
export function inspect(ctx) { return {count, on: "b"}; }`

// stuck holds its mailbox with the first message it receives: its turn
// awaits a promise that never settles, so the next ones wait.
const remoteStuckJS = `
export async function receive() { await new Promise(() => {}); }`

const remotePooledJS = `
let a;
export function init(args) { a = args; }
export function receive(msg) {
  if (msg.type === "args") return a;
  if (msg.type === "boom") throw new Error("boom");
}`

// memCluster is three nodes, a, b and c, on an in-memory transport, all
// running the same tree and each starting its part.
type memCluster struct {
	t     *testing.T
	net   *memNet
	mu    sync.Mutex
	nodes map[string]*actor.Node
	evs   map[*actor.Node][]actor.Event
	root  actor.ChildSpec
	recv  map[string]func() actor.Receiver
}

// goEvents receives the Down messages of the Go actor goa.
type goEvents struct {
	downs chan actor.Down
}

func remoteTree(t *testing.T) actor.ChildSpec {
	a1 := worker(t, "a1", remoteDriverJS,
		actor.GrantSpec{Name: "b1", To: "b1", Rights: capability.Send | capability.Monitor | capability.Link | capability.Exit | capability.Inspect},
		actor.GrantSpec{Name: "b1k", To: "b1", Rights: capability.Kill},
		actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn},
		actor.GrantSpec{Name: "c1", To: "c1", Rights: capability.Send},
		actor.GrantSpec{Name: "stuck", To: "stuck", Rights: capability.Send},
		actor.GrantSpec{Name: "goa", To: "goa", Rights: capability.Send})
	a1.Node = "a"
	stuck := worker(t, "stuck", remoteStuckJS)
	stuck.Node, stuck.Mailbox = "b", mailbox.Limits{Messages: 2}
	b1 := worker(t, "b1", remoteWorkerJS)
	b1.Node = "b"
	c1 := worker(t, "c1", remoteWorkerJS)
	c1.Node = "c"
	tmpl := worker(t, "w", remotePooledJS)
	tmpl.Restart = actor.Temporary
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1000, time.Second), Children: []actor.ChildSpec{
		a1, b1, c1, stuck,
		{Name: "pool", Node: "b", Strategy: supervisor.NewOneForOne(100, time.Second), Template: &tmpl},
		{Name: "goa", Node: "a", Go: "goa", Grants: []actor.GrantSpec{
			{Name: "gob", To: "gob", Rights: capability.Send | capability.Monitor},
			{Name: "pool", To: "pool", Rights: capability.Spawn},
		}},
		{Name: "gob", Node: "b", Go: "gob"},
	}}
}

// goa answers {op}: roundtrip sends gob a capability to itself and
// reports whether the one gob sends back is the same object; monitor
// watches gob; spawn spawns from b's pool.
func goaReceiver(ev *goEvents) func() actor.Receiver {
	return func() actor.Receiver {
		var kept *capability.Capability // a capability another process gave
		return actor.ReceiverFunc(func(c *actor.Context) {
			switch m := c.Message().(type) {
			case actor.Down:
				ev.downs <- m
				return
			case actor.Message:
			default:
				return
			}
			var m struct {
				Op  string                 `msgpack:"op"`
				Cap *capability.Capability `msgpack:"cap"`
			}
			if err := c.Decode(&m); err != nil {
				_ = c.Fail(err)
				return
			}
			gob, _ := c.Env("gob")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			switch m.Op {
			case "keep":
				kept = m.Cap
			case "callKept":
				var v any
				if err := c.Call(ctx, kept, map[string]any{"type": "inc"}, &v); err != nil {
					_ = c.Fail(err)
					return
				}
				_ = c.Reply(v)
			case "roundtrip":
				orig, _ := c.Self().Attenuate(capability.Send)
				var out struct {
					Cap *capability.Capability `msgpack:"cap"`
				}
				if err := c.Call(ctx, gob, map[string]any{"cap": orig}, &out); err != nil {
					_ = c.Fail(err)
					return
				}
				_ = c.Reply(out.Cap == orig)
			case "monitor":
				if _, err := c.Monitor(gob); err != nil {
					_ = c.Fail(err)
					return
				}
				_ = c.Reply(true)
			case "spawn":
				pool, _ := c.Env("pool")
				ch, err := c.Spawn(ctx, pool, 42)
				if err != nil {
					_ = c.Fail(err)
					return
				}
				var v int
				if err := c.Call(ctx, ch, map[string]any{"type": "args"}, &v); err != nil {
					_ = c.Fail(err)
					return
				}
				_ = c.Reply(v)
			}
		})
	}
}

// gob answers a call with the capability it carried.
func gobReceiver() actor.Receiver {
	return actor.ReceiverFunc(func(c *actor.Context) {
		if _, ok := c.Message().(actor.Message); !ok {
			return
		}
		var m struct {
			Cap *capability.Capability `msgpack:"cap"`
		}
		if err := c.Decode(&m); err != nil {
			_ = c.Fail(err)
			return
		}
		_ = c.Reply(map[string]any{"cap": m.Cap})
	})
}

func newCluster(t *testing.T) (*memCluster, *goEvents) { return newClusterWindow(t, 4096) }

// newClusterWindow starts the cluster with window frames in flight per
// pair of nodes at most.
func newClusterWindow(t *testing.T, window int) (*memCluster, *goEvents) {
	return newClusterOf(t, window, remoteTree(t))
}

// newClusterOf is newClusterWindow running the tree root.
func newClusterOf(t *testing.T, window int, root actor.ChildSpec) (*memCluster, *goEvents) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	ev := &goEvents{downs: make(chan actor.Down, 16)}
	cl := &memCluster{t: t, net: newMemNet(), nodes: make(map[string]*actor.Node), evs: make(map[*actor.Node][]actor.Event),
		root: root,
		recv: map[string]func() actor.Receiver{"goa": goaReceiver(ev), "gob": gobReceiver}}
	cl.net.size = window
	t.Cleanup(cl.stop)
	for _, name := range []string{"a", "b", "c"} {
		cl.start(name)
	}
	cl.waitUp()
	return cl, ev
}

// start runs a new incarnation of node name.
func (cl *memCluster) start(name string) *actor.Node {
	t := cl.t
	e := cl.net.join(name)
	n, err := actor.NewNode(actor.Options{Cluster: e, Receivers: cl.recv})
	if err != nil {
		t.Fatal(err)
	}
	n.Subscribe(func(ev actor.Event) {
		cl.mu.Lock()
		cl.evs[n] = append(cl.evs[n], ev)
		cl.mu.Unlock()
	})
	e.Start(n)
	if err := n.Start(cl.root); err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	cl.mu.Lock()
	if old := cl.nodes[name]; old != nil {
		defer func() { _ = old.Shutdown(context.Background()) }()
	}
	cl.nodes[name] = n
	cl.mu.Unlock()
	return n
}

func (cl *memCluster) stop() {
	cl.mu.Lock()
	nodes := slices.Collect(func(yield func(*actor.Node) bool) {
		for _, n := range cl.nodes {
			if !yield(n) {
				return
			}
		}
	})
	cl.mu.Unlock()
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := n.Shutdown(ctx); err != nil {
			cl.t.Errorf("shutdown: %v", err)
		}
		cancel()
	}
	cl.net.close()
}

func (cl *memCluster) node(name string) *actor.Node {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.nodes[name]
}

// call calls the process at path on node name from Go.
func (cl *memCluster) call(name, path string, msg any) any {
	cl.t.Helper()
	v, err := cl.tryCall(name, path, msg)
	if err != nil {
		cl.t.Fatalf("call %s:%s %v: %v", name, path, msg, err)
	}
	return v
}

func (cl *memCluster) tryCall(name, path string, msg any) (any, error) {
	n := cl.node(name)
	c, err := n.Capability(path, capability.All)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out any
	err = n.Call(ctx, c, msg, &out)
	return out, err
}

// waitUp waits until a reaches b's and c's processes and they reach a.
func (cl *memCluster) waitUp() {
	checkFor(cl.t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("a", "a1", map[string]any{"op": "call", "m": map[string]any{"type": "get"}}); num(v) < 0 {
			return fmt.Errorf("a1 cannot reach b1 yet: %v", v)
		}
		return nil
	})
}

// events returns the events of node name so far.
func (cl *memCluster) events(name string) []actor.Event {
	n := cl.node(name)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return slices.Clone(cl.evs[n])
}

// denied counts the Denied events of node name whose text has substr.
func (cl *memCluster) denied(name, substr string) int {
	k := 0
	for _, e := range cl.events(name) {
		if d, ok := e.(actor.Denied); ok && strings.Contains(d.Err.Error(), substr) {
			k++
		}
	}
	return k
}

// jsError returns the name of the error a driver reported, or "".
func jsError(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m["error"].(string)
	return s
}

func TestRemote_SendAndCallAcrossNodesInOrder(t *testing.T) {
	cl, _ := newCluster(t)
	before := num(cl.call("b", "b1", map[string]any{"type": "get"}))
	if got := num(cl.call("a", "a1", map[string]any{"op": "call", "m": map[string]any{"type": "inc"}})); got != before+1 {
		t.Fatalf("a1's call of b1 answered %d, want %d", got, before+1)
	}
	cl.call("a", "a1", map[string]any{"op": "sendMany", "n": 200})
	var log []any
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		log, _ = cl.call("b", "b1", map[string]any{"type": "log"}).([]any)
		if len(log) < 200 {
			return fmt.Errorf("b1 has %d of 200 messages", len(log))
		}
		return nil
	})
	for i, v := range log {
		if num(v) != int64(i) {
			t.Fatalf("message %d arrived as %v: order per pair was not kept (%v)", i, v, log[:min(len(log), 20)])
		}
	}
	if p, ok := cl.node("a").Lookup("b1"); ok {
		t.Fatalf("node a built b1 (%v), which is placed on b", p.Path())
	}
	if _, ok := cl.node("b").Lookup("b1"); !ok {
		t.Fatal("node b did not build b1")
	}
}

func TestRemote_CapabilitiesTravelBothWaysAndComeHome(t *testing.T) {
	cl, _ := newCluster(t)
	// a → b: a1 gives b1 a capability to itself; b1 calls a1 through it.
	cl.call("a", "a1", map[string]any{"op": "giveSelf"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("b", "b1", map[string]any{"type": "callKept", "m": map[string]any{"op": "ping"}}); v != "pong-a" {
			return fmt.Errorf("b1 calling a1 through the capability it received: %v", v)
		}
		return nil
	})
	// b → a: b1 answers a call with a capability to itself; a1 calls b1 through it.
	cl.call("a", "a1", map[string]any{"op": "keepB1Self"})
	n := num(cl.call("b", "b1", map[string]any{"type": "get"}))
	if got := num(cl.call("a", "a1", map[string]any{"op": "callKept", "m": map[string]any{"type": "inc"}})); got != n+1 {
		t.Fatalf("a1 calling b1 through the capability b1 returned: %v, want %d", got, n+1)
	}
	// A static grant given to another process of its node works for it:
	// the grant's holder is who b checks.
	cl.call("a", "a1", map[string]any{"op": "giveGrant"})
	n = num(cl.call("b", "b1", map[string]any{"type": "get"}))
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		v, err := cl.tryCall("a", "goa", map[string]any{"op": "callKept"})
		if err != nil || num(v) != n+1 {
			return fmt.Errorf("goa calling b1 through a1's grant: %v, %v; want %d", v, err, n+1)
		}
		return nil
	})
	// Home again: a Go actor's capability sent to b and back is the object it sent.
	if v := cl.call("a", "goa", map[string]any{"op": "roundtrip"}); v != true {
		t.Fatalf("a capability that went to node b and came back is not the original: %v", v)
	}
}

func TestRemote_ExitAndKillNeedTheRight(t *testing.T) {
	cl, _ := newCluster(t)
	b1, _ := cl.node("b").Lookup("b1")
	inc := b1.Incarnation()
	if v := cl.call("a", "a1", map[string]any{"op": "killNoRight"}); jsError(v) != "CapabilityError" {
		t.Fatalf("kill without the right: %v, want CapabilityError", v)
	}
	cl.call("a", "a1", map[string]any{"op": "kill"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if b1.Incarnation() == inc {
			return errors.New("b1 was not killed")
		}
		return nil
	})
	if cs := b1.Crashes(); len(cs) == 0 || cs[len(cs)-1].Reason != actor.ReasonKilled {
		t.Fatalf("b1's crashes %v, want the last killed", cs)
	}
	inc = b1.Incarnation()
	// A signal to a process between incarnations is dropped, as Erlang
	// drops one to a dead pid: wait until the new incarnation answers a1.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("a", "a1", map[string]any{"op": "call", "m": map[string]any{"type": "get"}}); jsError(v) != "" {
			return fmt.Errorf("b1's new incarnation does not answer yet: %v", v)
		}
		return nil
	})
	cl.call("a", "a1", map[string]any{"op": "exit", "reason": "go-away"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if b1.Incarnation() == inc {
			return errors.New("b1 did not take the exit signal")
		}
		return nil
	})
	if cs := b1.Crashes(); cs[len(cs)-1].Reason != "exit:go-away" {
		t.Fatalf("b1's last crash %v, want exit:go-away", cs[len(cs)-1])
	}
}

func TestRemote_MonitorLinkAndNodeLoss(t *testing.T) {
	cl, ev := newCluster(t)
	b1, _ := cl.node("b").Lookup("b1")
	inc := b1.Incarnation()
	cl.call("a", "a1", map[string]any{"op": "monitor"})
	cl.call("a", "a1", map[string]any{"op": "link"})
	// b1 links to a1 the other way too, through a capability a1 gave it.
	cl.call("a", "a1", map[string]any{"op": "giveSelf"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("b", "b1", map[string]any{"type": "callKept", "m": map[string]any{"op": "ping"}}); v != "pong-a" {
			return fmt.Errorf("b1 has not a1's capability yet: %v", v)
		}
		return nil
	})
	cl.call("a", "a1", map[string]any{"op": "kill"})
	notes := func(node, path, op string) []string {
		var out []string
		v, _ := cl.call(node, path, map[string]any{"op": op, "type": op}).([]any)
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := notes("a", "a1", "notes"); !slices.Contains(n, "down:killed") || !slices.Contains(n, "exit:killed") {
			return fmt.Errorf("a1's notifications %v, want down:killed and exit:killed", n)
		}
		return nil
	})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if b1.Incarnation() == inc {
			return errors.New("b1 not restarted")
		}
		return nil
	})
	// The new incarnation links to a1 (trapping exits) and a1 monitors and links it again.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("b", "b1", map[string]any{"type": "keep", "cap": nil}); v != true {
			return fmt.Errorf("b1: %v", v)
		}
		return nil
	})
	cl.call("a", "a1", map[string]any{"op": "giveSelf"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("b", "b1", map[string]any{"type": "callKept", "m": map[string]any{"op": "ping"}}); v != "pong-a" {
			return fmt.Errorf("b1 has not a1's capability yet: %v", v)
		}
		return nil
	})
	cl.call("b", "b1", map[string]any{"type": "linkKept"})
	cl.call("a", "a1", map[string]any{"op": "monitor"})
	cl.call("a", "a1", map[string]any{"op": "link"})
	if v := cl.call("a", "goa", map[string]any{"op": "monitor"}); v != true {
		t.Fatalf("goa monitor: %v", v)
	}

	cl.net.cut("b")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := notes("a", "a1", "notes"); !slices.Contains(n, "down:noconnection") || !slices.Contains(n, "exit:noconnection") {
			return fmt.Errorf("a1's notifications %v, want down:noconnection and exit:noconnection", n)
		}
		return nil
	})
	select {
	case d := <-ev.downs:
		if d.Reason != actor.ReasonNoConnection {
			t.Fatalf("goa's down: %v, want noconnection", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("goa's monitor of gob did not fire when node b was lost")
	}
	// On the lost side, b1's link to a1 fired too.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := notes("b", "b1", "notes"); !slices.Contains(n, "exit:noconnection") {
			return fmt.Errorf("b1's notifications %v, want exit:noconnection", n)
		}
		return nil
	})
	if v := cl.call("a", "a1", map[string]any{"op": "call", "m": map[string]any{"type": "get"}}); jsError(v) != "NoConnectionError" {
		t.Fatalf("a call to a lost node: %v, want NoConnectionError", v)
	}
}

func TestRemote_NewIncarnationOldTokensFailGrantsWork(t *testing.T) {
	cl, _ := newCluster(t)
	cl.call("a", "a1", map[string]any{"op": "keepB1Self"}) // a token minted by b's first incarnation
	if v := cl.call("a", "a1", map[string]any{"op": "callKept", "m": map[string]any{"type": "get"}}); num(v) < 0 {
		t.Fatalf("a1 calling b1 through b's token: %v", v)
	}
	cl.start("b") // a new incarnation of b replaces the old one
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("a", "a1", map[string]any{"op": "call", "m": map[string]any{"type": "get"}}); num(v) != 0 {
			return fmt.Errorf("a1 calling the new b1 through its grant: %v, want 0", v)
		}
		return nil
	})
	if v := cl.call("a", "a1", map[string]any{"op": "callKept", "m": map[string]any{"type": "get"}}); jsError(v) != "NoProcError" {
		t.Fatalf("a token of b's earlier incarnation: %v, want NoProcError", v)
	}
}

func TestRemote_SpawnAndInspect(t *testing.T) {
	cl, _ := newCluster(t)
	v := cl.call("a", "a1", map[string]any{"op": "spawn", "args": map[string]any{"n": 5}})
	if m, ok := v.(map[string]any); !ok || num(m["n"]) != 5 {
		t.Fatalf("a1 spawning on b's pool and calling the child: %v, want {n: 5}", v)
	}
	if kids := mustLookup(t, cl.node("b"), "pool").Children(); len(kids) != 1 {
		t.Fatalf("b's pool has %d children, want 1", len(kids))
	}
	if v := cl.call("a", "goa", map[string]any{"op": "spawn"}); num(v) != 42 {
		t.Fatalf("a Go actor spawning on b's pool: %v, want 42", v)
	}
	v = cl.call("a", "a1", map[string]any{"op": "inspect"})
	if m, ok := v.(map[string]any); !ok || m["on"] != "b" {
		t.Fatalf("a1 inspecting b1: %v", v)
	}
}

func mustLookup(t *testing.T, n *actor.Node, path string) *actor.Process {
	t.Helper()
	p, ok := n.Lookup(path)
	if !ok {
		t.Fatalf("no process %q", path)
	}
	return p
}

func TestRemote_RevokedForwarderDoesNothing(t *testing.T) {
	cl, _ := newCluster(t)
	var frames []tapped
	var tapMu sync.Mutex
	cl.net.tap(func(from, to string, f *wire.Frame) {
		tapMu.Lock()
		frames = append(frames, tapped{from, to, copyFrame(f)})
		tapMu.Unlock()
	})
	b1 := func() int64 { return num(cl.call("b", "b1", map[string]any{"type": "get"})) }
	cl.call("a", "a1", map[string]any{"op": "giveRevocable"})
	n0 := b1()
	// c1 uses the forwarder: c → a (checks it) → b.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := cl.call("c", "c1", map[string]any{"type": "callKept", "m": map[string]any{"type": "inc"}}); num(v) != n0+1 {
			return fmt.Errorf("c1 through a1's forwarder: %v, want %d", v, n0+1)
		}
		return nil
	})
	cl.call("c", "c1", map[string]any{"type": "sendKept", "m": map[string]any{"type": "inc"}})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if n := b1(); n != n0+2 {
			return fmt.Errorf("b1 at %d, want %d", n, n0+2)
		}
		return nil
	})
	// The frame c sent a through the forwarder, to replay later.
	tapMu.Lock()
	var sent *wire.Frame
	for _, tf := range frames {
		if tf.from == "c" && tf.to == "a" && tf.f.Kind == wire.KindSend {
			sent = tf.f
		}
	}
	tapMu.Unlock()
	if sent == nil {
		t.Fatal("no send from c to a went through the forwarder")
	}

	cl.call("a", "a1", map[string]any{"op": "revoke"})
	if v := cl.call("c", "c1", map[string]any{"type": "callKept", "m": map[string]any{"type": "inc"}}); jsError(v) != "CapabilityError" ||
		!strings.Contains(fmt.Sprint(v), "revoked") {
		t.Fatalf("a call through the revoked forwarder: %v, want CapabilityError (revoked)", v)
	}
	cl.call("c", "c1", map[string]any{"type": "sendKept", "m": map[string]any{"type": "inc"}})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		// The send's refusal; the call's is its rejection.
		if cl.denied("c", "revoked") < 1 {
			return fmt.Errorf("node c reported %d revoked refusals, want 1", cl.denied("c", "revoked"))
		}
		return nil
	})
	// A replay of the earlier frame, and the same with the token altered.
	cl.node("a").Deliver("c", copyFrame(sent))
	altered := copyFrame(sent)
	altered.To.Token[3] ^= 0x10
	cl.node("a").Deliver("c", altered)
	guessed := copyFrame(sent)
	guessed.To.Token = wire.Token(capability.NewToken())
	cl.node("a").Deliver("c", guessed)
	// Every refusal is counted on a: the revoked send, the replay, and
	// (as noproc) the altered and guessed tokens, which name nothing.
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := cl.denied("a", "revoked"); k < 3 {
			return fmt.Errorf("node a reported %d revoked refusals, want 3", k)
		}
		return nil
	})
	// A round trip through b1 orders these checks after anything they did.
	if n := b1(); n != n0+2 {
		t.Fatalf("b1 at %d after the revocation, want %d: a revoked, replayed or altered capability acted", n, n0+2)
	}
}

type tapped struct {
	from, to string
	f        *wire.Frame
}

func TestRemote_ForgedStaticGrantsAreRefused(t *testing.T) {
	cl, _ := newCluster(t)
	b := cl.node("b")
	b1 := mustLookup(t, b, "b1")
	inc := b1.Incarnation()
	n0 := num(cl.call("b", "b1", map[string]any{"type": "get"}))
	forged := []*wire.Frame{
		// a1 holds no spawn right on b1, nor any grant on gob's behalf.
		{Kind: wire.KindSpawn, ID: 1, To: wire.Ref{Node: "b", Path: "pool"}, From: "goa/x"},
		// b1 is not placed on a: a cannot act as it.
		{Kind: wire.KindKill, To: wire.Ref{Node: "b", Path: "b1"}, From: "b1"},
		// goa holds no grant over b1.
		{Kind: wire.KindKill, To: wire.Ref{Node: "b", Path: "b1"}, From: "goa"},
		{Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "b1"}, From: "goa", Env: &wire.Envelope{Data: []byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'i', 'n', 'c'}}},
		// No such process placed anywhere.
		{Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "b1"}, From: "nobody", Env: &wire.Envelope{Data: []byte{0xc0}}},
		// c1 is placed on c: a path on another node.
		{Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "c1"}, From: "a1", Env: &wire.Envelope{Data: []byte{0xc0}}},
	}
	for _, f := range forged {
		b.Deliver("a", f)
	}
	if got := num(cl.call("b", "b1", map[string]any{"type": "get"})); got != n0 {
		t.Fatalf("b1's count went from %d to %d: a forged grant acted", n0, got)
	}
	if b1.Incarnation() != inc {
		t.Fatal("a forged kill ended b1")
	}
	if kids := mustLookup(t, b, "pool").Children(); len(kids) != 0 {
		t.Fatalf("a forged spawn started %d children", len(kids))
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := cl.denied("b", "placed") + cl.denied("b", "grant"); k < 6 {
			return fmt.Errorf("node b reported %d refused static grants, want 6", k)
		}
		return nil
	})
	// The same frame from a, honest: a1 holds b1's kill grant.
	b.Deliver("a", &wire.Frame{Kind: wire.KindExit, To: wire.Ref{Node: "b", Path: "b1"}, From: "a1", Reason: "honest"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if b1.Incarnation() == inc {
			return errors.New("b1 did not take a1's exit signal")
		}
		return nil
	})
}

// recTransport records what a node sends; every peer is up.
type recTransport struct {
	mu   sync.Mutex
	sent []*wire.Frame
}

func (r *recTransport) Self() string               { return "solo" }
func (r *recTransport) Incarnation() uint64        { return 7 }
func (r *recTransport) Peer(string) (uint64, bool) { return 1, true }
func (r *recTransport) Send(_ string, f *wire.Frame) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, copyFrame(f))
	return nil
}

func (r *recTransport) frames() []*wire.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

func TestRemote_FramesBeforeStartOrForNobodyAreAnsweredNoProc(t *testing.T) {
	tr := &recTransport{}
	var logs testkit.LockedBuffer
	n, err := actor.NewNode(actor.Options{Cluster: tr, Logger: testkit.Logger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	n.PeerUp("x", 1)
	deliverAll := func() {
		for k := wire.Kind(0); k < 20; k++ {
			for _, to := range []wire.Ref{{}, {Node: "solo", Inc: 7}, {Node: "solo", Path: "w"}, {Node: "solo", Path: "nope"}, {Node: "other", Path: "w"}} {
				n.Deliver("x", &wire.Frame{Kind: k, To: to, ID: 9, From: "p"})
				n.Deliver("x", &wire.Frame{Kind: k, To: to, ID: 9, From: "p", Env: &wire.Envelope{Data: []byte{0xc0}, Caps: []wire.Ref{{}, {Node: "solo", Path: "w"}}}, Err: &wire.Error{Code: 200}})
			}
		}
	}
	deliverAll() // before Start
	for _, f := range tr.frames() {
		if (f.Kind == wire.KindReply || f.Kind == wire.KindRefused) && (f.Err == nil || f.Err.Code != wire.ErrNoProc) {
			t.Fatalf("a frame before Start was answered with %+v, want noproc", f.Err)
		}
	}
	if !slices.ContainsFunc(tr.frames(), func(f *wire.Frame) bool {
		return f.Kind == wire.KindReply && f.Err != nil && f.Err.Code == wire.ErrNoProc
	}) {
		t.Fatal("no call before Start was answered with noproc")
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1_000_000, time.Second), Children: []actor.ChildSpec{worker(t, "w", counterJS)}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	deliverAll() // for processes that do not exist, or not placed here
	if w := mustLookup(t, n, "w"); w.Handled() != 0 {
		t.Fatalf("w handled %d messages from frames naming it without a grant", w.Handled())
	}
	// Frames of every kind with random fields, as a hostile peer would
	// send, some with real tokens of w and of the root (all rights).
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := []wire.Token{{}, wire.Token(capability.NewToken())}
	var valid []wire.Ref
	for _, path := range []string{"w", ""} {
		c, err := n.Capability(path, capability.All)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := actor.ExportRef(n, c)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, ref.Token)
		valid = append(valid, ref)
	}
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	for k := 0; k < 5000; k++ {
		ref := func() wire.Ref {
			if rng.IntN(2) == 0 {
				return valid[rng.IntN(len(valid))]
			}
			return wire.Ref{Node: pick("solo", "x", ""), Inc: []uint64{0, 7, 1}[rng.IntN(3)], Token: tokens[rng.IntN(len(tokens))],
				Path: pick("", "w", "nope", "w/1"), Rights: uint16(rng.Uint32())}
		}
		f := &wire.Frame{Kind: wire.Kind(rng.IntN(16)), To: ref(), From: pick("", "p", "w", "x/y"), ID: rng.Uint64() >> rng.IntN(64),
			Depth: rng.Uint32() >> rng.IntN(32), Reason: pick("", "normal", "boom", "noconnection"), Link: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			f.Env = &wire.Envelope{Data: []byte{0xc0}, Caps: []wire.Ref{ref(), ref()}[:rng.IntN(3)]}
		}
		if rng.IntN(3) == 0 {
			f.Err = &wire.Error{Code: wire.ErrCode(rng.IntN(12)), Message: pick("", "send: x", "a long message"), Need: uint16(rng.Uint32()), Revoked: rng.IntN(2) == 0}
		}
		n.Deliver("x", f)
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if mustLookup(t, n, "w").Handled() == 0 {
			return errors.New("no random frame with w's token reached it: the test no longer plays a peer that holds it")
		}
		return nil
	})
	select {
	case <-n.Failed():
		t.Fatal("the node failed under a peer's frames")
	default:
	}
	if strings.Contains(logs.String(), "could not be handled") {
		t.Fatalf("a frame made the node fail:\n%s", logs.String())
	}
	n.PeerDown("x", 1)
}

func TestRemote_PlacementIsValidated(t *testing.T) {
	w := worker(t, "w", counterJS)
	deep := w
	deep.Node = "b"
	placed := w
	placed.Node = "b"
	for name, tc := range map[string]struct {
		opts actor.Options
		root actor.ChildSpec
		want string
	}{
		"below the root": {actor.Options{Cluster: &recTransport{}}, actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1, time.Second), Children: []actor.ChildSpec{
			{Name: "s", Strategy: supervisor.NewOneForOne(1, time.Second), Children: []actor.ChildSpec{deep}}}}, "only the root's direct children"},
		"not clustered": {actor.Options{}, actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1, time.Second), Children: []actor.ChildSpec{placed}}, "not clustered"},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := actor.NewNode(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
			if err := n.Start(tc.root); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestRemote_BackpressureThrowsMailboxFull(t *testing.T) {
	cl, _ := newClusterWindow(t, 64)
	cl.net.pause()
	v, err := cl.tryCall("a", "a1", map[string]any{"op": "sendMany", "n": cl.net.size + 100})
	cl.net.resume()
	if err != nil {
		t.Fatal(err)
	}
	if jsError(v) != "MailboxFull" || !strings.Contains(fmt.Sprint(v), "in flight to node b") {
		t.Fatalf("sends past the window to node b: %v, want MailboxFull naming the node", v)
	}
	// What was sent arrives, in order; nothing past the refusal does.
	var log []any
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		log, _ = cl.call("b", "b1", map[string]any{"type": "log"}).([]any)
		if len(log) == 0 {
			return errors.New("nothing arrived")
		}
		return nil
	})
	if len(log) >= cl.net.size+100 {
		t.Fatalf("b1 received %d messages; the window is %d", len(log), cl.net.size)
	}
	for i, v := range log {
		if num(v) != int64(i) {
			t.Fatalf("message %d arrived as %v", i, v)
		}
	}
}

func TestRemote_ExportsOfEndedDynamicChildrenAreDropped(t *testing.T) {
	cl, _ := newCluster(t)
	b := cl.node("b")
	base := actor.RemoteExports(b)
	for k := 0; k < 3; k++ {
		if v := cl.call("a", "a1", map[string]any{"op": "spawn", "args": k}); num(v) != int64(k) {
			t.Fatalf("spawn %d: %v", k, v)
		}
	}
	if got := actor.RemoteExports(b); got != base+3 {
		t.Fatalf("node b exported %d capabilities after 3 spawns from a, want %d", got, base+3)
	}
	// The same capability sent twice is one token.
	cl.call("a", "a1", map[string]any{"op": "keepB1Self"})
	cl.call("a", "a1", map[string]any{"op": "keepB1Self"})
	withSelf := actor.RemoteExports(b)
	if withSelf != base+4 {
		t.Fatalf("node b exported %d capabilities after sending b1's self twice, want %d", withSelf, base+4)
	}
	for _, ch := range mustLookup(t, b, "pool").Children() {
		if err := b.Stop(ch.ID()); err != nil {
			t.Fatal(err)
		}
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := actor.RemoteExports(b); got != withSelf-3 {
			return fmt.Errorf("node b holds %d exported capabilities, want %d once the children are gone", got, withSelf-3)
		}
		return nil
	})
	if v := cl.call("a", "a1", map[string]any{"op": "spawn", "args": 9}); num(v) != 9 {
		t.Fatalf("spawn after the sweep: %v", v)
	}
}

func TestRemote_SpawnWithLinkBindsBothEnds(t *testing.T) {
	cl, _ := newCluster(t)
	pool := mustLookup(t, cl.node("b"), "pool")
	if v := cl.call("a", "a1", map[string]any{"op": "spawnLinked", "args": 1}); num(v) != 1 {
		t.Fatalf("spawn with link on b: %v", v)
	}
	// The child crashes: its owner on a hears of it.
	cl.call("a", "a1", map[string]any{"op": "callKept", "m": map[string]any{"type": "boom"}})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		v, _ := cl.call("a", "a1", map[string]any{"op": "notes"}).([]any)
		if !slices.ContainsFunc(v, func(s any) bool { return s == "exit:error" }) {
			return fmt.Errorf("a1's notifications %v, want exit:error from its child on b", v)
		}
		return nil
	})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := len(pool.Children()); k != 0 {
			return fmt.Errorf("b's pool has %d children, want 0: a linked child is temporary", k)
		}
		return nil
	})
	// The owner crashes: its child on b ends with it.
	if v := cl.call("a", "a1", map[string]any{"op": "spawnLinked", "args": 2}); num(v) != 2 {
		t.Fatalf("spawn with link on b: %v", v)
	}
	if k := len(pool.Children()); k != 1 {
		t.Fatalf("b's pool has %d children, want 1", k)
	}
	if _, err := cl.tryCall("a", "a1", map[string]any{"op": "crash"}); err == nil {
		t.Fatal("a1 did not crash")
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := len(pool.Children()); k != 0 {
			return fmt.Errorf("b's pool has %d children after their owner on a crashed, want 0", k)
		}
		return nil
	})
}

func TestRemote_FullMailboxOnTheOwnerIsReportedToTheSender(t *testing.T) {
	cl, _ := newCluster(t)
	actor.SetParkBounds(cl.node("b"), 1, 1<<20)
	actor.SetParkWait(cl.node("b"), time.Hour)
	cl.call("a", "a1", map[string]any{"op": "sendStuck", "n": 6})
	// Two wait (three if the first has started its turn) and b parks one
	// (remote_flow.go); the owner refuses the rest and counts them, and
	// the sender's node hears of each.
	limits := func(node string) int {
		k := 0
		for _, e := range cl.events(node) {
			if l, ok := e.(actor.LimitHit); ok && l.Limit == mailbox.LimitMailbox {
				k++
			}
		}
		return k
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if b, a := limits("b"), limits("a"); b < 2 || a != b {
			return fmt.Errorf("mailbox refusals counted on b %d, on a %d; want 2 or 3, the same on both", b, a)
		}
		return nil
	})
	for _, e := range cl.events("a") {
		if l, ok := e.(actor.LimitHit); ok && l.Limit == mailbox.LimitMailbox && l.Path != "a1" {
			t.Fatalf("the refusal on a names %q, want the sender a1", l.Path)
		}
	}
}

func TestRemote_EqualUnrevocableCapabilitiesShareOneToken(t *testing.T) {
	cl, _ := newCluster(t)
	b := cl.node("b")
	b1 := mustLookup(t, b, "b1")
	base := actor.RemoteExports(b)
	// A script that attenuates ctx.self for every message makes a new
	// capability object each time; they all stand for the same authority.
	var first wire.Ref
	for i := 0; i < 1000; i++ {
		ref, err := actor.ExportRef(b, capability.New(b1, capability.Send))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ref
		} else if ref.Token != first.Token {
			t.Fatalf("export %d minted a new token for an equal capability", i)
		}
	}
	if got := actor.RemoteExports(b); got != base+1 {
		t.Fatalf("node b exported %d capabilities for 1000 equal ones, want %d", got, base+1)
	}
	// Other rights, or a revocable forwarder, are other authority.
	other, err := actor.ExportRef(b, capability.New(b1, capability.Send|capability.Monitor))
	if err != nil {
		t.Fatal(err)
	}
	fwd, _ := capability.New(b1, capability.Send).Revocable()
	r1, err := actor.ExportRef(b, fwd)
	if err != nil {
		t.Fatal(err)
	}
	if other.Token == first.Token || r1.Token == first.Token || r1.Token == other.Token {
		t.Fatal("different authority shares a token")
	}
	if got := actor.RemoteExports(b); got != base+3 {
		t.Fatalf("node b exported %d capabilities, want %d", got, base+3)
	}
}

func TestRemote_RevokedExportsAreSwept(t *testing.T) {
	cl, _ := newCluster(t)
	b := cl.node("b")
	b1 := mustLookup(t, b, "b1")
	base := actor.RemoteExports(b)
	var revs []*capability.Revoker
	for i := 0; i < 10; i++ {
		fwd, rv := capability.New(b1, capability.Send).Revocable()
		if _, err := actor.ExportRef(b, fwd); err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rv)
	}
	if got := actor.RemoteExports(b); got != base+10 {
		t.Fatalf("node b exported %d capabilities after 10 loans, want %d", got, base+10)
	}
	for _, rv := range revs[:7] {
		rv.Revoke()
	}
	if got := actor.RemoteExports(b); got != base+3 {
		t.Fatalf("node b holds %d exported capabilities after 7 of 10 loans were revoked, want %d", got, base+3)
	}
}

func TestRemote_AStaticGrantFoundOnceIsStillCheckedOnEveryUse(t *testing.T) {
	cl, _ := newCluster(t)
	b := cl.node("b")
	b1, stuck := mustLookup(t, b, "b1"), mustLookup(t, b, "stuck")
	b1Inc, stuckInc := b1.Incarnation(), stuck.Incarnation()
	// a1's grant over stuck is found, and kept, for a send...
	b.Deliver("a", &wire.Frame{Kind: wire.KindSend, ID: 1, To: wire.Ref{Node: "b", Path: "stuck"}, From: "a1", Env: &wire.Envelope{Data: []byte{0xc0}}})
	// ...and carries no kill right: a kill under it, right after, is refused.
	before := cl.denied("b", "kill")
	b.Deliver("a", &wire.Frame{Kind: wire.KindKill, ID: 2, To: wire.Ref{Node: "b", Path: "stuck"}, From: "a1"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := cl.denied("b", "kill") - before; k != 1 {
			return fmt.Errorf("node b reported %d refused kills, want 1", k)
		}
		return nil
	})
	// Another process of a holds no grant over b1, though a1 does and
	// used it last: its kill is refused, a1's is not.
	b.Deliver("a", &wire.Frame{Kind: wire.KindSend, ID: 3, To: wire.Ref{Node: "b", Path: "b1"}, From: "a1", Env: &wire.Envelope{Data: []byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'i', 'n', 'c'}}})
	before = cl.denied("b", "grant")
	b.Deliver("a", &wire.Frame{Kind: wire.KindKill, ID: 4, To: wire.Ref{Node: "b", Path: "b1"}, From: "goa"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := cl.denied("b", "grant") - before; k != 1 {
			return fmt.Errorf("node b reported %d refused grants, want 1", k)
		}
		return nil
	})
	if b1.Incarnation() != b1Inc || stuck.Incarnation() != stuckInc {
		t.Fatal("a kill without the right ended a process")
	}
	b.Deliver("a", &wire.Frame{Kind: wire.KindKill, ID: 5, To: wire.Ref{Node: "b", Path: "b1"}, From: "a1"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if b1.Incarnation() == b1Inc {
			return errors.New("b1 was not killed by a1, which holds the right")
		}
		return nil
	})
}
