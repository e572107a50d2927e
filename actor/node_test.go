package actor_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, timeout, interval, f)
}

type fixture struct {
	t      *testing.T
	node   *actor.Node
	mu     sync.Mutex
	events []actor.Event
}

// worker declares a worker child whose script is src (JS).
func worker(t *testing.T, name, src string, grants ...actor.GrantSpec) actor.ChildSpec {
	t.Helper()
	return actor.ChildSpec{Name: name, Script: testnode.Script(t, name+".js", []byte(src)), Grants: grants}
}

func start(t *testing.T, limits isolate.Limits, children ...actor.ChildSpec) *fixture {
	t.Helper()
	// Registered before the node's shutdown, so it runs after it: every
	// goroutine the node started must end with it.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	n := testnode.New(t, actor.Options{Limits: limits})
	f := &fixture{t: t, node: n}
	n.Subscribe(func(e actor.Event) {
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
	})
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: children}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) cap(path string) *capability.Capability {
	c, err := f.node.Capability(path, capability.All)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// call sends msg as a call to path and decodes the answer.
func (f *fixture) call(path string, msg any) (any, error) {
	b, err := msgpack.Marshal(msg)
	if err != nil {
		f.t.Fatal(err)
	}
	// A stop for a hang, not a margin: under the race detector on a
	// loaded machine a turn can take many seconds of wall time.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := callBytes(ctx, f.node, f.cap(path), b)
	if err != nil {
		return nil, err
	}
	var v any
	if err := msgpack.Unmarshal(out, &v); err != nil {
		f.t.Fatal(err)
	}
	return v, nil
}

func (f *fixture) mustCall(path string, msg any) any {
	f.t.Helper()
	v, err := f.call(path, msg)
	if err != nil {
		f.t.Fatalf("call %s %v: %v", path, msg, err)
	}
	return v
}

func (f *fixture) crashes(path string) []*actor.Crash {
	p, ok := f.node.Lookup(path)
	if !ok {
		f.t.Fatalf("no process %q", path)
	}
	return p.Crashes()
}

func (f *fixture) waitCrash(path, reason string) *actor.Crash {
	f.t.Helper()
	var got *actor.Crash
	checkFor(f.t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, c := range f.crashes(path) {
			if c.Reason == reason {
				got = c
				return nil
			}
		}
		return fmt.Errorf("no %s crash of %s yet (have %v)", reason, path, f.crashes(path))
	})
	return got
}

func num(v any) int64 {
	switch n := v.(type) {
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	}
	return -1
}

const counterJS = `
let count = 0;
export function init(args) { count = args?.start ?? 0; }
export function receive(msg, ctx) {
  if (msg.type === "inc") { count += msg.by ?? 1; return count; }
  if (msg.type === "get") return count;
  if (msg.type === "boom") throw new Error("boom");
  if (msg.type === "spin") while (true) {}
  if (msg.type === "recurse") { const f = (n) => f(n + 1) + 1; return f(0); }
  if (msg.type === "panic") return ctx.self.send(msg.bad);
}
`

func TestNode_CallAndState(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", counterJS))
	f.mustCall("counter", map[string]any{"type": "inc", "by": 5})
	if got, want := num(f.mustCall("counter", map[string]any{"type": "get"})), int64(5); got != want {
		t.Fatalf("count = %d, want %d", got, want)
	}
}

func TestNode_MessagesInMailboxOrder(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", `
const seen = [];
export function receive(msg) { if (msg.type === "get") return seen; seen.push(msg.n); }`))
	for i := 0; i < 200; i++ {
		b, _ := msgpack.Marshal(map[string]any{"n": i})
		if err := sendBytes(f.node, f.cap("counter"), b); err != nil {
			t.Fatal(err)
		}
	}
	got := f.mustCall("counter", map[string]any{"type": "get"}).([]any)
	if len(got) != 200 {
		t.Fatalf("got %d messages, want 200", len(got))
	}
	for i, v := range got {
		if num(v) != int64(i) {
			t.Fatalf("message %d was %v: out of order", i, v)
		}
	}
}

func TestNode_CrashRestartsWithFreshStateAndKeepsServing(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", counterJS))
	f.mustCall("counter", map[string]any{"type": "inc", "by": 7})
	_, err := f.call("counter", map[string]any{"type": "boom"})
	if !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("call that crashed the callee: err = %v, want ErrCalleeCrashed", err)
	}
	c := f.waitCrash("counter", "error")
	if !strings.Contains(c.Stack, "counter.js") || !strings.Contains(c.Err.Error(), "boom") {
		t.Errorf("crash report lacks the JS error or stack: %v\n%s", c.Err, c.Stack)
	}
	if len(c.Message) == 0 {
		t.Errorf("crash report lacks the message being handled")
	}
	if got := num(f.mustCall("counter", map[string]any{"type": "get"})); got != 0 {
		t.Fatalf("state after restart = %d, want 0 (fresh isolate)", got)
	}
	p, _ := f.node.Lookup("counter")
	if p.Restarts() != 1 || p.Incarnation() != 2 {
		t.Errorf("restarts=%d incarnation=%d, want 1 and 2", p.Restarts(), p.Incarnation())
	}
}

func TestNode_CPULimitInterruptsOnlyTheRunaway(t *testing.T) {
	f := start(t, isolate.Limits{CPU: 20 * time.Millisecond},
		worker(t, "spinner", counterJS), worker(t, "counter", counterJS))
	b, _ := msgpack.Marshal(map[string]any{"type": "spin"})
	if err := sendBytes(f.node, f.cap("spinner"), b); err != nil {
		t.Fatal(err)
	}
	f.mustCall("counter", map[string]any{"type": "inc"})
	f.waitCrash("spinner", "cpu_limit")
	if got := num(f.mustCall("spinner", map[string]any{"type": "inc"})); got != 1 {
		t.Fatalf("spinner after restart answered %d, want 1", got)
	}
}

func TestNode_RecursionIsACrashNotAGoStackOverflow(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", counterJS))
	_, err := f.call("counter", map[string]any{"type": "recurse"})
	if err == nil {
		t.Fatal("unbounded recursion returned")
	}
	c := f.waitCrash("counter", "error")
	if !strings.Contains(c.Err.Error(), "Maximum call stack size exceeded") {
		t.Errorf("crash = %v, want a stack overflow RangeError", c.Err)
	}
}

func TestNode_QueuedMessagesSurviveACrash(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", `
let n = 0;
export async function receive(msg, ctx) {
  if (msg.type === "slowboom") { await new Promise(r => setTimeout(r, 50)); throw new Error("late boom"); }
  if (msg.type === "inc") { n++; return n; }
  if (msg.type === "get") return n;
}`))
	send := func(m map[string]any) {
		b, _ := msgpack.Marshal(m)
		if err := sendBytes(f.node, f.cap("counter"), b); err != nil {
			t.Fatal(err)
		}
	}
	send(map[string]any{"type": "slowboom"})
	for i := 0; i < 10; i++ {
		send(map[string]any{"type": "inc"})
	}
	f.waitCrash("counter", "error")
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := num(f.mustCall("counter", map[string]any{"type": "get"})); got != 10 {
			return fmt.Errorf("next incarnation handled %d of the 10 queued messages", got)
		}
		return nil
	})
}

func TestNode_AsyncReceiveWaitsAndCallsBetweenActors(t *testing.T) {
	f := start(t, isolate.Limits{},
		worker(t, "counter", counterJS),
		worker(t, "client", `
export async function receive(msg, ctx) {
  const a = await ctx.env.counter.call({type: "inc", by: 2});
  const b = await ctx.env.counter.call({type: "inc", by: 3});
  return [a, b];
}`, actor.GrantSpec{Name: "counter", To: "counter", Rights: capability.Send}))
	got := f.mustCall("client", map[string]any{}).([]any)
	if num(got[0]) != 2 || num(got[1]) != 5 {
		t.Fatalf("got %v, want [2 5]", got)
	}
}

func TestNode_CallCycleEndsInTimeout(t *testing.T) {
	src := `
export async function receive(msg, ctx) {
  if (msg.type === "start") {
    try { await ctx.env.peer.call({type: "start", t: 2000}, {timeout: msg.t}); return "no timeout"; }
    catch (e) { return e.name; }
  }
}`
	grant := func(to string) actor.GrantSpec { return actor.GrantSpec{Name: "peer", To: to, Rights: capability.Send} }
	f := start(t, isolate.Limits{}, worker(t, "a", src, grant("b")), worker(t, "b", src, grant("a")))
	if got := f.mustCall("a", map[string]any{"type": "start", "t": 100}); got != "TimeoutError" {
		t.Fatalf("a call cycle ended with %v, want TimeoutError", got)
	}
}

func TestNode_TimersFireAsTurns(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "t", `
let fired = [];
export function init(args, ctx) {
  setTimeout(() => fired.push("a"), 10);
  const id = setTimeout(() => fired.push("cancelled"), 20);
  clearTimeout(id);
  ctx.sendAfter(ctx.self, {type: "later"}, 15);
  const ref = ctx.sendAfter(ctx.self, {type: "never"}, 15);
  ctx.cancelTimer(ref);
}
export function receive(msg) {
  if (msg.type === "get") return fired.slice().sort(); // timers due together have no set order
  fired.push(msg.type);
}`))
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		got := fmt.Sprint(f.mustCall("t", map[string]any{"type": "get"}))
		if got != "[a later]" {
			return fmt.Errorf("fired %s, want [a later]", got)
		}
		return nil
	})
}

func TestNode_ShutdownRunsTerminateInReverseOrder(t *testing.T) {
	src := func(name string) string {
		return fmt.Sprintf(`
export function receive() {}
export function terminate(reason, ctx) { console.log("terminate %s " + reason); }`, name)
	}
	log := &testkit.LockedBuffer{}
	n, err := actor.NewNode(actor.Options{Logger: testkit.Logger(log)})
	if err != nil {
		t.Fatal(err)
	}
	var children []actor.ChildSpec
	for _, name := range []string{"first", "second", "third"} {
		children = append(children, worker(t, name, src(name)))
	}
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second), Children: children}); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, name := range []string{"first", "second", "third"} {
			if p, _ := n.Lookup(name); p.Status() != actor.StatusRunning {
				return fmt.Errorf("%s is %v", name, p.Status())
			}
		}
		return nil
	})
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := n.Wait(); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	i3, i2, i1 := strings.Index(out, "terminate third shutdown"), strings.Index(out, "terminate second shutdown"), strings.Index(out, "terminate first shutdown")
	if i3 < 0 || i2 < 0 || i1 < 0 || !(i3 < i2 && i2 < i1) {
		t.Fatalf("terminate order wrong or missing:\n%s", out)
	}
}

func TestNode_RootFailsPastIntensity(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := isolate.Compile("bad.js", []byte(`export function init() { setTimeout(() => { throw new Error("cannot run"); }, 0); } export function receive() {}`))
	if err != nil {
		t.Fatal(err)
	}
	// The three crashes can all happen before Start returns (the timer
	// fires as soon as init has run); Start then reports the root's
	// failure itself.
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(2, 10*time.Second),
		Children: []actor.ChildSpec{{Name: "bad", Script: s}}}); err != nil && !strings.Contains(err.Error(), supervisor.ReasonMaxIntensity) {
		t.Fatal(err)
	}
	select {
	case <-n.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("root did not fail")
	}
	err = n.Wait()
	if !errors.Is(err, actor.ErrRootFailed) || !strings.Contains(err.Error(), supervisor.ReasonMaxIntensity) {
		t.Fatalf("Wait = %v, want ErrRootFailed with %s", err, supervisor.ReasonMaxIntensity)
	}
	if p, _ := n.Lookup("bad"); len(p.Crashes()) != 3 {
		t.Errorf("bad crashed %d times, want 3 (intensity 2 allows two restarts)", len(p.Crashes()))
	}
}

func TestNode_SendToUnknownOrStoppedProcess(t *testing.T) {
	quitter := worker(t, "quitter", `
export function receive(msg, ctx) { if (msg.type === "quit") ctx.stop(); return "ok"; }`)
	quitter.Restart = actor.Transient // a permanent child would be restarted after a normal stop
	f := start(t, isolate.Limits{}, quitter)
	f.mustCall("quitter", map[string]any{"type": "quit"})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		_, err := f.call("quitter", map[string]any{"type": "x"})
		if !errors.Is(err, isolate.ErrNoProc) {
			return fmt.Errorf("call after normal stop: %v, want ErrNoProc", err)
		}
		return nil
	})
}

func TestNode_GoSideCheckRefusesWithoutRight(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", counterJS))
	c, _ := f.node.Capability("counter", capability.Monitor)
	b, _ := msgpack.Marshal(map[string]any{"type": "inc"})
	err := sendBytes(f.node, c, b)
	if !errors.Is(err, capability.ErrDenied) {
		t.Fatalf("send without the send right: %v, want ErrDenied", err)
	}
	if got := num(f.mustCall("counter", map[string]any{"type": "get"})); got != 0 {
		t.Fatalf("target changed: count %d", got)
	}
}

func TestExamples_Compile(t *testing.T) {
	matches, _ := filepath.Glob("../examples/*/app.yaml")
	if len(matches) == 0 {
		t.Fatal("no examples found")
	}
	for _, path := range matches {
		m, err := manifest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Spec(isolate.NewCompiler()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}
