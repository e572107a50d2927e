package actor_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

// A LimitHit{processes} subscriber that looks processes up (as the metrics
// do) must not deadlock the registry: a tree larger than MaxProcesses makes
// Start fail, not hang.
func TestEdge_ProcessLimitWithMetricsDoesNotDeadlockStart(t *testing.T) {
	// testnode shuts the node down even though Start fails.
	n := testnode.New(t, actor.Options{MaxProcesses: 2})
	metrics.New(n) // the subscriber every `cloister run` installs
	done := make(chan error, 1)
	go func() {
		done <- n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
			Children: []actor.ChildSpec{worker(t, "a", victimJS), worker(t, "b", victimJS)}})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "too many processes") {
			t.Fatalf("Start = %v, want too many processes", err)
		}
	case <-time.After(20 * time.Second): // a bound on a hang, not a speed claim
		t.Fatal("Start hung with a metrics subscriber on a refused process")
	}
}

// The same at run time: a spawn past the node's process limit is refused
// and the supervisor goes on.
func TestEdge_ProcessLimitWithMetricsDoesNotDeadlockSpawn(t *testing.T) {
	n, err := actor.NewNode(actor.Options{MaxProcesses: 4})
	if err != nil {
		t.Fatal(err)
	}
	metrics.New(n)
	tmpl := worker(t, "tmpl", victimJS)
	pool := actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(3, time.Second), Template: &tmpl}
	boss := worker(t, "boss", `
export async function receive(msg, ctx) {
  const out = [];
  for (let i = 0; i < 2; i++) {
    try { await ctx.env.pool.spawn({}); out.push("ok"); } catch (e) { out.push(e.name); }
  }
  return out;
}`, actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn})
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second), Children: []actor.ChildSpec{pool, boss}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	b, _ := msgpack.Marshal(map[string]any{})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	out, err := callBytes(ctx, n, mustCap(t, n, "boss"), b)
	if err != nil {
		t.Fatalf("boss call: %v", err)
	}
	var v any
	_ = msgpack.Unmarshal(out, &v)
	if got := fmt.Sprint(v); got != "[ok RangeError]" {
		t.Fatalf("spawns = %s, want [ok RangeError] (a TimeoutError means the pool deadlocked)", got)
	}
	lookup := make(chan struct{})
	go func() { n.Lookup("boss"); close(lookup) }()
	select {
	case <-lookup:
	case <-time.After(20 * time.Second): // a bound on a hang, not a speed claim
		t.Fatal("Node.Lookup blocks after a refused spawn")
	}
}

func mustCap(t *testing.T, n *actor.Node, path string) *capability.Capability {
	t.Helper()
	c, err := n.Capability(path, capability.All)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An operator restart of a supervisor counts once.
func TestEdge_OperatorRestartOfSupervisorCountsOnce(t *testing.T) {
	sup := actor.ChildSpec{Name: "sup", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "w", victimJS)}}
	f := start(t, isolate.Limits{}, sup)
	p := f.proc("sup")
	if err := f.node.Restart(p.ID()); err != nil {
		t.Fatal(err)
	}
	f.waitIncarnation("sup", 2)
	f.waitIncarnation("sup/w", 2)
	if p.Restarts() != 1 {
		t.Fatalf("sup restarted once by the operator; Restarts() = %d, want 1", p.Restarts())
	}
}

// A supervisor restarted by its parent (here by the operator; the same for a
// one_for_all sibling's crash) reports a reason to its monitors.
func TestEdge_SupervisorRestartDownHasAReason(t *testing.T) {
	sup := actor.ChildSpec{Name: "sup", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "w", victimJS)}}
	f := start(t, isolate.Limits{}, sup,
		worker(t, "watcher", watcherJS, actor.GrantSpec{Name: "peer", To: "sup", Rights: capability.Monitor}))
	f.mustCall("watcher", map[string]any{"op": "monitor"})
	if err := f.node.Restart(f.proc("sup").ID()); err != nil {
		t.Fatal(err)
	}
	got := f.waitNotes("watcher", 1)
	if r, _ := got[0]["reason"].(string); r == "" {
		t.Fatalf("down for a restarted supervisor = %v: empty reason (want shutdown, or killed for Kill)", got[0])
	}
}

// Same for an operator Kill of a supervisor: the down should say killed.
func TestEdge_SupervisorKillDownSaysKilled(t *testing.T) {
	sup := actor.ChildSpec{Name: "sup", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "w", victimJS)}}
	f := start(t, isolate.Limits{}, sup,
		worker(t, "watcher", watcherJS, actor.GrantSpec{Name: "peer", To: "sup", Rights: capability.Monitor}))
	f.mustCall("watcher", map[string]any{"op": "monitor"})
	if err := f.node.Kill(f.proc("sup").ID()); err != nil {
		t.Fatal(err)
	}
	got := f.waitNotes("watcher", 1)
	if got[0]["reason"] != "killed" {
		t.Fatalf("down for a killed supervisor = %v, want reason killed", got[0])
	}
}

// An operator-stopped child stays stopped when its supervisor restarts, and
// the children after it start without waiting for it.
func TestEdge_SupervisorRestartDoesNotStallOnOperatorStoppedChild(t *testing.T) {
	// a's init may take an hour: a restart that waited for the stopped a
	// would never bring b up, and the wait for b below would fail.
	slowStart := worker(t, "a", victimJS)
	slowStart.StartTimeout = time.Hour
	sup := actor.ChildSpec{Name: "sup", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{slowStart, worker(t, "b", victimJS)}}
	f := start(t, isolate.Limits{}, sup)
	a := f.proc("sup/a")
	if err := f.node.Stop(a.ID()); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if a.Status() != actor.StatusStopped {
			return fmt.Errorf("a is %s", a.Status())
		}
		return nil
	})
	if err := f.node.Restart(f.proc("sup").ID()); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 20*time.Second, 5*time.Millisecond, func() error {
		if b := f.proc("sup/b"); b.Incarnation() != 2 || b.Status() != actor.StatusRunning {
			return fmt.Errorf("b: incarnation %d (%s): sup's restart waits for the operator-stopped a", b.Incarnation(), b.Status())
		}
		return nil
	})
	if a.Status() != actor.StatusStopped || a.Incarnation() != 1 {
		t.Fatalf("the operator-stopped a is %s in incarnation %d, want stopped in 1", a.Status(), a.Incarnation())
	}
}

// A subscriber that reacts to a mailbox LimitHit by sending to the process
// (Node.Send) must not deadlock: events are emitted outside the locks.
func TestEdge_LimitHitSubscriberMaySend(t *testing.T) {
	w := worker(t, "slow", slowJS)
	w.Mailbox.Messages = 1
	f := start(t, isolate.Limits{}, w)
	var once atomic.Bool
	f.node.Subscribe(func(e actor.Event) {
		if h, ok := e.(actor.LimitHit); ok && h.Limit == "mailbox" && once.CompareAndSwap(false, true) {
			b, _ := msgpack.Marshal(map[string]any{"i": -1})
			_ = sendBytes(f.node, f.cap("slow"), b) // e.g. an overload alert; refused, but must return
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5; i++ {
			b, _ := msgpack.Marshal(map[string]any{"i": i})
			_ = sendBytes(f.node, f.cap("slow"), b)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a bound on a hang, not a speed claim
		t.Fatal("Node.Send hung when a LimitHit subscriber sent")
	}
}

// A Shutdown that comes while Start is spawning (a SIGINT during start)
// leaves no process running and no goroutine behind. The race is made by an
// event: a Go child's Init holds the start, between a and b, until the
// shutdown has begun.
func TestEdge_ShutdownDuringStart(t *testing.T) {
	before := goleak.IgnoreCurrent()
	entered, release := make(chan struct{}), make(chan struct{})
	hold := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Init); ok {
				close(entered)
				<-release
			}
		})
	}
	n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"hold": hold}})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "a", victimJS), {Name: "hold", Go: "hold"}, worker(t, "b", victimJS)}}
	started := make(chan error, 1)
	go func() { started <- n.Start(root) }()
	<-entered // a has started; hold's Init is running; b does not exist yet
	// A cancelled context: the shutdown begins, and Shutdown returns at once.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_ = n.Shutdown(cancelled)
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"a", "hold", "b"} {
		if p, ok := n.Lookup(path); ok && p.Status() == actor.StatusRunning {
			t.Errorf("%s is running after Shutdown returned", path)
		}
	}
	select {
	case <-started: // nil or an error: either way it has returned
	case <-ctx.Done():
		t.Fatal("Start did not return after the node shut down")
	}
	testkit.NoLeaks(t, before)
}

// An operator Kill and the child's own crash of the same incarnation, both
// queued while the supervisor is busy, restart it once.
func TestEdge_KillAndCrashOfOneIncarnationRestartOnce(t *testing.T) {
	tmpl := worker(t, "tmpl", `
export function init(args) { if (args.slow) { const end = Date.now() + 500; while (Date.now() < end) {} } }
export function receive(msg) { if (msg.op === "crash") throw new Error("own crash"); return "ok"; }`)
	pool := actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(10, time.Minute), Template: &tmpl}
	boss := worker(t, "boss", `
export async function receive(msg, ctx) {
  if (msg.op === "spawn") { await ctx.env.pool.spawn({}); return "ok"; }
  if (msg.op === "slow") { ctx.env.pool.spawn({slow: true}).catch(() => {}); return "asked"; }
}`, actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn})
	f := start(t, isolate.Limits{CPU: 5 * time.Second}, pool, boss)
	f.mustCall("boss", map[string]any{"op": "spawn"})
	x := f.proc("pool/1")
	f.mustCall("boss", map[string]any{"op": "slow"})
	// pool/2 has started and spins in its init for 500 ms: the pool waits
	// for it (awaitReady) and queues what comes meanwhile.
	checkFor(t, 10*time.Second, time.Millisecond, func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, e := range f.events {
			if s, ok := e.(actor.Started); ok && s.Path == "pool/2" {
				return nil
			}
		}
		return fmt.Errorf("pool/2 has not started")
	})
	if err := f.node.Kill(x.ID()); err != nil {
		t.Fatal(err)
	}
	b, _ := msgpack.Marshal(map[string]any{"op": "crash"})
	if err := sendBytes(f.node, f.cap("pool/1"), b); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if x.Incarnation() < 2 || x.Status() != actor.StatusRunning {
			return fmt.Errorf("x: incarnation %d (%s)", x.Incarnation(), x.Status())
		}
		return nil
	})
	// A spawn is handled by the pool after everything queued before it: the
	// kill and the crash have both been dealt with once it answers.
	f.mustCall("boss", map[string]any{"op": "spawn"})
	if x.Incarnation() != 2 {
		t.Fatalf("one incarnation killed and crashed: now incarnation %d, want 2; crashes %v", x.Incarnation(), x.Crashes())
	}
}
