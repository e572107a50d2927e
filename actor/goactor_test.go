package actor_test

import (
	"context"
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
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
)

// goNode starts a node with the given Go receivers under root, and checks
// at the end that Shutdown leaves no goroutine behind.
func goNode(t *testing.T, receivers map[string]func() actor.Receiver, root actor.ChildSpec) *fixture {
	t.Helper()
	before := runtime.NumGoroutine()
	n, err := actor.NewNode(actor.Options{Receivers: receivers})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, node: n}
	n.Subscribe(func(e actor.Event) {
		f.mu.Lock()
		f.events = append(f.events, e)
		f.mu.Unlock()
	})
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if got := runtime.NumGoroutine(); got > before+2 {
				return fmt.Errorf("%d goroutines after shutdown, %d before", got, before)
			}
			return nil
		})
	})
	return f
}

func oneForOne(children ...actor.ChildSpec) actor.ChildSpec {
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Minute), Children: children}
}

func goChild(name, receiver string, grants ...actor.GrantSpec) actor.ChildSpec {
	return actor.ChildSpec{Name: name, Go: receiver, Grants: grants}
}

func grant(name, to string, rights capability.Rights) actor.GrantSpec {
	return actor.GrantSpec{Name: name, To: to, Rights: rights}
}

// inbox collects what Go actors saw, in order.
type inbox struct {
	mu  sync.Mutex
	got []any
}

func (b *inbox) add(v any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, v)
}

func (b *inbox) all() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// waitFor polls until the inbox holds n entries and returns them.
func (b *inbox) waitFor(t *testing.T, n int) []any {
	t.Helper()
	var got []any
	checkFor(t, 10*time.Second, 2*time.Millisecond, func() error {
		if got = b.all(); len(got) < n {
			return fmt.Errorf("%d of %d entries: %v", len(got), n, got)
		}
		return nil
	})
	return got
}

type event struct {
	Kind string
	Text string
	N    int
	List []int
	When time.Time
	Raw  []byte
	Opt  *string
	Note string `msgpack:"note,omitempty"`
}

func TestGoActor_ReceivesFromJS(t *testing.T) {
	var in inbox
	sink := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			switch c.Message().(type) {
			case actor.Init:
				in.add("init")
			case actor.Message:
				var e event
				if err := c.Decode(&e); err != nil {
					in.add(err)
					return
				}
				in.add(e)
			}
		})
	}
	f := goNode(t, map[string]func() actor.Receiver{"sink": sink}, oneForOne(
		goChild("sink", "sink"),
		worker(t, "js", `export function receive(msg, ctx) {
  ctx.env.sink.send({Kind: "hello", Text: "héllo 🌍", N: msg.n, List: [1, 2, 3], When: new Date(1500),
    Raw: new Uint8Array([7, 8]), Opt: undefined, note: "n", extra: {ignored: true}});
  return "sent";
}`, grant("sink", "sink", capability.Send)),
	))
	if got := f.mustCall("js", map[string]any{"n": 42}); got != "sent" {
		t.Fatalf("js answered %v", got)
	}
	got := in.waitFor(t, 2)
	if got[0] != "init" {
		t.Errorf("first message %v, want init", got[0])
	}
	e, ok := got[1].(event)
	if !ok {
		t.Fatalf("second message %#v, want a decoded event", got[1])
	}
	want := event{Kind: "hello", Text: "héllo 🌍", N: 42, List: []int{1, 2, 3}, When: time.UnixMilli(1500), Raw: []byte{7, 8}, Note: "n"}
	if e.Kind != want.Kind || e.Text != want.Text || e.N != want.N || !slices.Equal(e.List, want.List) ||
		!e.When.Equal(want.When) || !slices.Equal(e.Raw, want.Raw) || e.Opt != nil || e.Note != want.Note {
		t.Errorf("decoded %+v, want %+v", e, want)
	}
	if p, _ := f.node.Lookup("sink"); p.Handled() != 1 || p.Receiver() != "sink" || p.Kind() != actor.KindWorker {
		t.Errorf("sink: handled %d, receiver %q, kind %v", p.Handled(), p.Receiver(), p.Kind())
	}
}

// adder answers calls {a, b} with a+b, fails {fail: text}, and leaves
// {silent: true} unanswered.
func adder() actor.Receiver {
	return actor.ReceiverFunc(func(c *actor.Context) {
		if _, ok := c.Message().(actor.Message); !ok || !c.IsCall() {
			return
		}
		var m struct {
			A, B   float64
			Fail   string
			Silent bool
		}
		if err := c.Decode(&m); err != nil {
			_ = c.Fail(err)
			return
		}
		switch {
		case m.Silent:
		case m.Fail != "":
			_ = c.Fail(errors.New(m.Fail))
		default:
			if err := c.Reply(map[string]any{"sum": m.A + m.B}); err != nil {
				panic(err)
			}
			if err := c.Reply(0); !errors.Is(err, actor.ErrAnswered) {
				panic(fmt.Sprintf("second Reply: %v", err))
			}
		}
	})
}

func TestGoActor_AnswersJSCall(t *testing.T) {
	f := goNode(t, map[string]func() actor.Receiver{"adder": adder}, oneForOne(
		goChild("adder", "adder"),
		worker(t, "js", `export async function receive(msg, ctx) {
  const add = ctx.env.add;
  const r = await add.call({A: 2, B: 3.5});
  let failed;
  try { await add.call({Fail: "no such thing"}); } catch (e) { failed = e.name + ": " + e.message; }
  const silent = await add.call({Silent: true});
  return {sum: r.sum, failed, silent: silent === undefined};
}`, grant("add", "adder", capability.Send)),
	))
	got, ok := f.mustCall("js", "go").(map[string]any)
	if !ok {
		t.Fatalf("js answered %v", got)
	}
	if s, ok := got["sum"].(float64); !ok || s != 5.5 {
		t.Errorf("sum = %v, want 5.5", got["sum"])
	}
	if got["failed"] != "Error: no such thing" {
		t.Errorf("failed call rejected with %q, want \"Error: no such thing\"", got["failed"])
	}
	if got["silent"] != true {
		t.Errorf("an unanswered call resolved to something other than undefined")
	}
}

func TestGoActor_CallsAndSendsToJS(t *testing.T) {
	var in inbox
	caller := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Message); !ok {
				return
			}
			counter, _ := c.Env("counter")
			if err := c.Send(counter, map[string]any{"type": "inc", "by": 5}); err != nil {
				in.add(err)
				return
			}
			var n int
			if err := c.Call(context.Background(), counter, map[string]any{"type": "inc", "by": 2}, &n); err != nil {
				in.add(err)
				return
			}
			in.add(n)
			err := c.Call(context.Background(), counter, map[string]any{"type": "boom"}, nil)
			in.add(err)
			_ = c.Reply(n) // a call from Go
		})
	}
	f := goNode(t, map[string]func() actor.Receiver{"caller": caller}, oneForOne(
		worker(t, "counter", counterJS),
		goChild("caller", "caller", grant("counter", "counter", capability.Send)),
	))
	if got := num(f.mustCall("caller", "go")); got != 7 {
		t.Errorf("caller answered %d, want 7", got)
	}
	got := in.all()
	if len(got) != 2 || got[0] != 7 {
		t.Fatalf("caller saw %v, want [7 <crash>]", got)
	}
	if err, _ := got[1].(error); !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Errorf("a call that crashed its callee returned %v, want ErrCalleeCrashed", got[1])
	}
}

// TestGoActor_CapabilityTravels: JS hands Go a capability to another JS
// actor; Go uses it and hands that actor a capability to itself, which the
// JS actor uses to answer.
func TestGoActor_CapabilityTravels(t *testing.T) {
	var in inbox
	relay := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Message); !ok {
				return
			}
			var m struct {
				To  *capability.Capability
				Ack string
			}
			if err := c.Decode(&m); err != nil {
				in.add(err)
				return
			}
			if m.Ack != "" {
				in.add("ack " + m.Ack)
				return
			}
			in.add(m.To.Rights().String())
			back, err := c.Self().Attenuate(capability.Send)
			if err != nil {
				in.add(err)
				return
			}
			if err := c.Send(m.To, map[string]any{"back": back, "text": "ping"}); err != nil {
				in.add(err)
			}
			if err := c.Kill(m.To); !errors.Is(err, capability.ErrDenied) {
				in.add(fmt.Errorf("kill through a send-only capability: %v", err))
			}
		})
	}
	f := goNode(t, map[string]func() actor.Receiver{"relay": relay}, oneForOne(
		goChild("relay", "relay"),
		worker(t, "b", `export function receive(msg, ctx) {
  msg.back.send({Ack: msg.text + " " + msg.back.rights.join(",")});
}`),
		worker(t, "a", `export function receive(msg, ctx) {
  ctx.env.relay.send({To: ctx.env.b.attenuate(["send"])});
}`, grant("relay", "relay", capability.Send), grant("b", "b", capability.Send|capability.Kill)),
	))
	if err := f.node.Send(context.Background(), f.cap("a"), nil); err != nil {
		t.Fatal(err)
	}
	got := in.waitFor(t, 2)
	if want := []any{"send", "ack ping send"}; !slices.Equal(got, want) {
		t.Errorf("relay saw %v, want %v", got, want)
	}
}

// TestGoActor_DeniedAsJS: a Go actor without a right gets the same error
// as a script would, and the refusal is counted for it.
func TestGoActor_DeniedAsJS(t *testing.T) {
	var in inbox
	probe := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Message); !ok {
				return
			}
			x, _ := c.Env("x")
			in.add(c.Send(x, "hi"))
			in.add(c.Kill(x))
			_, err := c.Monitor(x)
			in.add(err)
			in.add(c.Call(context.Background(), x, "hi", nil))
			_, ok := c.Env("nothing")
			in.add(ok)
		})
	}
	f := goNode(t, map[string]func() actor.Receiver{"probe": probe}, oneForOne(
		worker(t, "x", counterJS),
		goChild("probe", "probe", grant("x", "x", capability.Link)),
		worker(t, "js", `export function receive(msg, ctx) {
  const out = [];
  for (const f of [() => ctx.env.x.send("hi"), () => ctx.env.x.kill(), () => ctx.env.x.monitor()]) {
    try { f(); out.push("no error"); } catch (e) { out.push(e.name + ": " + e.message); }
  }
  return out;
}`, grant("x", "x", capability.Link)),
	))
	js, ok := f.mustCall("js", "go").([]any)
	if !ok || len(js) != 3 {
		t.Fatalf("js answered %v", js)
	}
	if err := f.node.Send(context.Background(), f.cap("probe"), nil); err != nil {
		t.Fatal(err)
	}
	got := in.waitFor(t, 5)
	for i, op := range []string{"send", "kill", "monitor", "call"} {
		err, _ := got[i].(error)
		var de *capability.DeniedError
		if !errors.As(err, &de) || !errors.Is(err, capability.ErrDenied) {
			t.Errorf("%s: %v, want a *capability.DeniedError", op, got[i])
			continue
		}
		if i < 3 {
			if want := strings.TrimPrefix(js[i].(string), "CapabilityError: "); err.Error() != want {
				t.Errorf("%s: Go error %q, JS error %q", op, err, js[i])
			}
		}
	}
	if got[4] != false {
		t.Errorf("Env of an ungranted name reported a capability")
	}
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		var denied int
		for _, e := range f.snapshot() {
			if d, ok := e.(actor.Denied); ok && d.Path == "probe" {
				denied++
			}
		}
		if denied != 4 {
			return fmt.Errorf("%d denials counted for probe, want 4", denied)
		}
		return nil
	})
	if x, _ := f.node.Lookup("x"); x.Incarnation() != 1 || x.Handled() != 0 {
		t.Errorf("x changed: incarnation %d, handled %d", x.Incarnation(), x.Handled())
	}
}

func (f *fixture) snapshot() []actor.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

// counting keeps a count in its own state, answers inc with it, and panics
// on boom.
func counting() actor.Receiver {
	n := 0
	return actor.ReceiverFunc(func(c *actor.Context) {
		if _, ok := c.Message().(actor.Message); !ok {
			return
		}
		var m string
		_ = c.Decode(&m)
		switch m {
		case "inc":
			n++
			_ = c.Reply(n)
		case "boom":
			panic(fmt.Sprintf("boom at %d", n))
		case "stop":
			c.Stop("")
		}
	})
}

func mustPack(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoActor_PanicRestartsWithFreshState(t *testing.T) {
	for _, tt := range []struct {
		strategy      actor.Strategy
		afterRestarts bool // the sibling started after it restarts too
	}{
		{supervisor.NewOneForOne(10, time.Minute), false},
		{supervisor.NewRestForOne(10, time.Minute), true},
	} {
		t.Run(tt.strategy.String(), func(t *testing.T) {
			f := goNode(t, map[string]func() actor.Receiver{"counting": counting}, actor.ChildSpec{
				Name: "root", Strategy: supervisor.NewOneForOne(10, time.Minute), Children: []actor.ChildSpec{{
					Name: "sup", Strategy: tt.strategy, Children: []actor.ChildSpec{
						worker(t, "before", counterJS),
						goChild("g", "counting"),
						worker(t, "after", counterJS),
					}}}})
			for i := 1; i <= 2; i++ {
				if got := num(f.mustCall("sup/g", "inc")); got != int64(i) {
					t.Fatalf("inc %d answered %d", i, got)
				}
			}
			_, err := f.call("sup/g", "boom")
			if !errors.Is(err, isolate.ErrCalleeCrashed) {
				t.Fatalf("boom: %v, want ErrCalleeCrashed", err)
			}
			cr := f.waitCrash("sup/g", "error")
			if !strings.Contains(cr.Err.Error(), "boom at 2") || !strings.Contains(cr.Stack, "goactor_test.go") {
				t.Errorf("crash report: err %q, stack %q; want the panic value and the Go stack", cr.Err, cr.Stack)
			}
			var msg string
			if err := msgpack.Unmarshal(cr.Message, &msg); err != nil || msg != "boom" {
				t.Errorf("crash report message %q (%v), want boom", msg, err)
			}
			checkFor(t, 5*time.Second, time.Millisecond, func() error {
				if p, _ := f.node.Lookup("sup/g"); p.Incarnation() != 2 || p.Status() != actor.StatusRunning {
					return fmt.Errorf("g: incarnation %d, %v", p.Incarnation(), p.Status())
				}
				return nil
			})
			if got := num(f.mustCall("sup/g", "inc")); got != 1 {
				t.Errorf("after the restart inc answered %d, want 1 (fresh state)", got)
			}
			before, _ := f.node.Lookup("sup/before")
			after, _ := f.node.Lookup("sup/after")
			if before.Incarnation() != 1 {
				t.Errorf("before: incarnation %d, want 1", before.Incarnation())
			}
			want := uint64(1)
			if tt.afterRestarts {
				want = 2
			}
			checkFor(t, 5*time.Second, time.Millisecond, func() error {
				if got := after.Incarnation(); got != want {
					return fmt.Errorf("after: incarnation %d, want %d", got, want)
				}
				return nil
			})
		})
	}
}

func TestGoActor_StopAndEscalation(t *testing.T) {
	f := goNode(t, map[string]func() actor.Receiver{"counting": counting}, actor.ChildSpec{
		Name: "root", Strategy: supervisor.NewOneForOne(10, time.Minute), Children: []actor.ChildSpec{
			{Name: "sup", Strategy: supervisor.NewOneForOne(0, time.Minute), Children: []actor.ChildSpec{goChild("g", "counting")}},
			{Name: "t", Go: "counting", Restart: actor.Transient},
		}})
	// A panic with intensity 0 fails sup, which root restarts with g.
	if _, err := f.call("sup/g", "boom"); !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("boom: %v", err)
	}
	cr := f.waitCrash("sup", supervisor.ReasonMaxIntensity)
	if cr.Action != actor.ActionRestart {
		t.Errorf("sup's failure: action %q, want restart", cr.Action)
	}
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if g, _ := f.node.Lookup("sup/g"); g.Incarnation() != 2 || g.Status() != actor.StatusRunning {
			return fmt.Errorf("g: incarnation %d, %v", g.Incarnation(), g.Status())
		}
		return nil
	})
	if got := num(f.mustCall("sup/g", "inc")); got != 1 {
		t.Errorf("inc after escalation answered %d, want 1", got)
	}
	// A transient Go actor that stops normally stays stopped.
	if err := f.node.Send(context.Background(), f.cap("t"), "stop"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		for _, e := range f.snapshot() {
			if s, ok := e.(actor.Stopped); ok && s.Path == "t" && s.Reason == actor.ReasonNormal {
				return nil
			}
		}
		return errors.New("no normal stop of t yet")
	})
	if p, _ := f.node.Lookup("t"); p.Incarnation() != 1 || len(p.Crashes()) != 0 {
		t.Errorf("t: incarnation %d, crashes %v", p.Incarnation(), p.Crashes())
	}
}

// watcher monitors or links to what it is sent, and records its notes.
func watcher(in *inbox) func() actor.Receiver {
	return func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			switch m := c.Message().(type) {
			case actor.Init:
				var trap bool
				_ = c.Decode(&trap)
				c.TrapExits(trap)
			case actor.Down:
				in.add(m)
			case actor.Exit:
				in.add(m)
			case actor.Message:
				var op string
				if err := c.Decode(&op); err != nil {
					panic(err)
				}
				target, _ := c.Env("target")
				switch op {
				case "monitor":
					ref, err := c.Monitor(target)
					if err != nil {
						panic(err)
					}
					_ = c.Reply(uint64(ref))
				case "demonitor":
					ref, err := c.Monitor(target)
					if err != nil {
						panic(err)
					}
					if ok, err := c.Demonitor(target, ref); !ok || err != nil {
						panic(fmt.Sprint("demonitor: ", ok, err))
					}
					_ = c.Reply(uint64(ref))
				case "link":
					if err := c.Link(target); err != nil {
						panic(err)
					}
					_ = c.Reply(true)
				case "mark":
					in.add("mark")
				case "boom":
					panic("boom")
				}
			}
		})
	}
}

func TestGoActor_MonitorsJS(t *testing.T) {
	var in inbox
	f := goNode(t, map[string]func() actor.Receiver{"watcher": watcher(&in)}, oneForOne(
		worker(t, "target", counterJS),
		goChild("w", "watcher", grant("target", "target", capability.Monitor)),
	))
	gone := num(f.mustCall("w", "demonitor"))
	ref := num(f.mustCall("w", "monitor"))
	if _, err := f.call("target", map[string]any{"type": "boom"}); !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("boom: %v", err)
	}
	got := in.waitFor(t, 1)
	if want := (actor.Down{Ref: actor.Ref(ref), Reason: "error"}); got[0] != want {
		t.Fatalf("watcher got %#v, want %#v", got[0], want)
	}
	if err := f.node.Send(context.Background(), f.cap("w"), "mark"); err != nil {
		t.Fatal(err)
	}
	got = in.waitFor(t, 2)
	if len(got) != 2 || got[1] != "mark" {
		t.Errorf("watcher got %v after the down; the demonitored ref %d must not arrive", got, gone)
	}
}

func TestGoActor_Links(t *testing.T) {
	t.Run("a JS crash takes the Go actor down", func(t *testing.T) {
		var in inbox
		f := goNode(t, map[string]func() actor.Receiver{"watcher": watcher(&in)}, oneForOne(
			worker(t, "target", counterJS),
			goChild("w", "watcher", grant("target", "target", capability.Link)),
		))
		f.mustCall("w", "link")
		_, _ = f.call("target", map[string]any{"type": "boom"})
		cr := f.waitCrash("w", actor.ReasonLinked)
		if !strings.Contains(cr.Err.Error(), "target") {
			t.Errorf("linked crash %v does not name target", cr.Err)
		}
	})
	t.Run("a Go panic takes the JS actor down", func(t *testing.T) {
		var in inbox
		f := goNode(t, map[string]func() actor.Receiver{"watcher": watcher(&in)}, oneForOne(
			goChild("w", "watcher"),
			worker(t, "js", `export function receive(msg, ctx) { ctx.env.w.link(); return true; }`, grant("w", "w", capability.Link)),
		))
		f.mustCall("js", "link")
		_ = f.node.Send(context.Background(), f.cap("w"), "boom")
		f.waitCrash("w", "error")
		cr := f.waitCrash("js", actor.ReasonLinked)
		if !strings.Contains(cr.Err.Error(), "w exited: error") {
			t.Errorf("js's linked crash: %v", cr.Err)
		}
	})
	t.Run("a trapping Go actor receives the exit", func(t *testing.T) {
		var in inbox
		f := goNode(t, map[string]func() actor.Receiver{"watcher": watcher(&in)}, oneForOne(
			worker(t, "target", counterJS),
			actor.ChildSpec{Name: "w", Go: "watcher", Args: mustPack(t, true), Grants: []actor.GrantSpec{grant("target", "target", capability.Link)}},
		))
		f.mustCall("w", "link")
		_, _ = f.call("target", map[string]any{"type": "boom"})
		got := in.waitFor(t, 1)
		if want := (actor.Exit{From: "target", Reason: "error"}); got[0] != want {
			t.Errorf("w got %#v, want %#v", got[0], want)
		}
		if w, _ := f.node.Lookup("w"); w.Incarnation() != 1 {
			t.Errorf("a trapping w was restarted")
		}
	})
}

func TestGoActor_TemplateSpawn(t *testing.T) {
	type args struct{ Greeting string }
	greeter := func() actor.Receiver {
		var a args
		return actor.ReceiverFunc(func(c *actor.Context) {
			switch c.Message().(type) {
			case actor.Init:
				if err := c.Decode(&a); err != nil {
					panic(err)
				}
			case actor.Message:
				var name string
				_ = c.Decode(&name)
				_ = c.Reply(a.Greeting + ", " + name + " from " + c.Path())
			}
		})
	}
	var in inbox
	spawner := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Message); !ok {
				return
			}
			pool, _ := c.Env("pool")
			child, err := c.Spawn(context.Background(), pool, args{Greeting: "hi"})
			if err != nil {
				in.add(err)
				return
			}
			var s string
			in.add(c.Call(context.Background(), child, "go", &s))
			in.add(s)
			in.add(child.Rights().String())
		})
	}
	f := goNode(t, map[string]func() actor.Receiver{"greeter": greeter, "spawner": spawner}, oneForOne(
		actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(10, time.Minute), Template: &actor.ChildSpec{Go: "greeter"}},
		worker(t, "js", `export async function receive(msg, ctx) {
  const child = await ctx.env.pool.spawn({Greeting: "hello"});
  return await child.call("js");
}`, grant("pool", "pool", capability.Spawn)),
		goChild("spawner", "spawner", grant("pool", "pool", capability.Spawn)),
	))
	if got := f.mustCall("js", "go"); got != "hello, js from pool/1" {
		t.Errorf("js's child answered %q", got)
	}
	if err := f.node.Send(context.Background(), f.cap("spawner"), nil); err != nil {
		t.Fatal(err)
	}
	got := in.waitFor(t, 3)
	if got[0] != nil || got[1] != "hi, go from pool/2" || got[2] != "send,monitor,link,exit,kill,inspect" {
		t.Errorf("spawner saw %v", got)
	}
	if pool, _ := f.node.Lookup("pool"); len(pool.Children()) != 2 {
		t.Errorf("pool has %d children, want 2", len(pool.Children()))
	}
}

func TestGoActor_StartErrors(t *testing.T) {
	ok := map[string]func() actor.Receiver{"ok": counting}
	s, err := isolate.Compile("w.js", []byte(`export function receive() {}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		root actor.ChildSpec
		want []string
	}{
		{"unknown receiver", oneForOne(goChild("ingest", "ingest")), []string{`process "ingest"`, `no Go receiver "ingest" is registered`}},
		{"script and Go", oneForOne(actor.ChildSpec{Name: "both", Script: s, Go: "ok"}), []string{`process "both"`, "both a script and the Go receiver"}},
		{"unknown template", oneForOne(actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(1, time.Second), Template: &actor.ChildSpec{Go: "nope"}}),
			[]string{`supervisor "pool": template`, `no Go receiver "nope"`}},
		{"panic in init", oneForOne(goChild("bad", "bad")), []string{"bad", "go panic: no init today"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{
				"ok": ok["ok"],
				"bad": func() actor.Receiver {
					return actor.ReceiverFunc(func(c *actor.Context) {
						if _, ok := c.Message().(actor.Init); ok {
							panic("no init today")
						}
					})
				},
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = n.Shutdown(context.Background()) }()
			err = n.Start(tt.root)
			if err == nil {
				t.Fatal("Start succeeded")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	if _, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"nil": nil}}); err == nil {
		t.Error("NewNode accepted a nil factory")
	}
}

// gate blocks its first message until released, and records the rest.
type gate struct {
	in      *inbox
	entered chan struct{}
	release chan struct{}
}

func (g *gate) receiver() actor.Receiver {
	return actor.ReceiverFunc(func(c *actor.Context) {
		if _, ok := c.Message().(actor.Message); !ok {
			return
		}
		var n int
		_ = c.Decode(&n)
		g.in.add(n)
		if n == 1 {
			close(g.entered)
			<-g.release
		}
	})
}

func TestGoActor_MailboxLimits(t *testing.T) {
	for _, policy := range []mailbox.Overflow{mailbox.Reject, mailbox.DropOldest} {
		t.Run(string(policy), func(t *testing.T) {
			g := &gate{in: &inbox{}, entered: make(chan struct{}), release: make(chan struct{})}
			f := goNode(t, map[string]func() actor.Receiver{"gate": g.receiver}, oneForOne(
				actor.ChildSpec{Name: "g", Go: "gate", Mailbox: mailbox.Limits{Messages: 3, Overflow: policy}},
			))
			send := func(n int) error { return f.node.Send(context.Background(), f.cap("g"), n) }
			if err := send(1); err != nil {
				t.Fatal(err)
			}
			<-g.entered // 1 has left the mailbox
			for n := 2; n <= 4; n++ {
				if err := send(n); err != nil {
					t.Fatalf("send %d: %v", n, err)
				}
			}
			err := send(5)
			p, _ := f.node.Lookup("g")
			want := []any{1, 2, 3, 4}
			if policy == mailbox.Reject {
				if !errors.Is(err, isolate.ErrMailboxFull) {
					t.Fatalf("send 5 to a full mailbox: %v, want ErrMailboxFull", err)
				}
			} else {
				if err != nil {
					t.Fatalf("send 5 under drop_oldest: %v", err)
				}
				want = []any{1, 3, 4, 5}
			}
			close(g.release)
			got := g.in.waitFor(t, 4)
			if !slices.Equal(got, want) {
				t.Errorf("handled %v, want %v", got, want)
			}
			if policy == mailbox.DropOldest && p.Dropped() != 1 {
				t.Errorf("dropped %d, want 1", p.Dropped())
			}
			checkFor(t, 5*time.Second, time.Millisecond, func() error {
				if p.MailboxDepth() != 0 || p.MailboxBytes() != 0 {
					return fmt.Errorf("mailbox holds %d messages, %d bytes", p.MailboxDepth(), p.MailboxBytes())
				}
				return nil
			})
		})
	}
}

// TestGoActor_TerminateOnShutdown: an orderly stop hands Terminate to the
// running incarnation, children in reverse start order.
func TestGoActor_TerminateOnShutdown(t *testing.T) {
	var in inbox
	rec := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if m, ok := c.Message().(actor.Terminate); ok {
				in.add(c.Path() + " " + m.Reason)
			}
		})
	}
	n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"rec": rec}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(oneForOne(goChild("a", "rec"), goChild("b", "rec"))); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := in.all(), []any{"b shutdown", "a shutdown"}; !slices.Equal(got, want) {
		t.Errorf("terminate order %v, want %v", got, want)
	}
}

// TestGoActor_Signals: exit and kill signals work both ways between Go and
// JS, and the operator's kill and restart reach a Go actor.
func TestGoActor_Signals(t *testing.T) {
	var in inbox
	killer := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			switch m := c.Message().(type) {
			case actor.Init:
				c.TrapExits(true)
			case actor.Exit:
				in.add(m)
			case actor.Message:
				var op string
				_ = c.Decode(&op)
				js, _ := c.Env("js")
				switch op {
				case "kill":
					in.add(c.Kill(js))
				case "exit":
					in.add(c.Exit(js, "enough"))
				case "quit":
					c.Stop("tired")
				}
			}
		})
	}
	f := goNode(t, map[string]func() actor.Receiver{"killer": killer}, oneForOne(
		worker(t, "js", `export function receive(msg, ctx) {
  if (msg === "exit") ctx.env.g.exit("bye");
  if (msg === "kill") ctx.env.g.kill();
  return true;
}`, grant("g", "g", capability.Exit|capability.Kill)),
		goChild("g", "killer", grant("js", "js", capability.Exit|capability.Kill)),
	))
	// JS → Go: a trapped exit arrives as a message, a kill cannot be trapped.
	f.mustCall("js", "exit")
	if got := in.waitFor(t, 1); got[0] != (actor.Exit{From: "js", Reason: "bye"}) {
		t.Errorf("g got %#v, want the exit from js", got[0])
	}
	f.mustCall("js", "kill")
	f.waitCrash("g", actor.ReasonKilled)
	// Go → JS.
	send := func(op string) {
		t.Helper()
		if err := f.node.Send(context.Background(), f.cap("g"), op); err != nil {
			t.Fatal(err)
		}
	}
	waitRunning := func(path string, inc uint64) {
		t.Helper()
		checkFor(t, 5*time.Second, time.Millisecond, func() error {
			if p, _ := f.node.Lookup(path); p.Incarnation() != inc || p.Status() != actor.StatusRunning {
				return fmt.Errorf("%s: incarnation %d, %v", path, p.Incarnation(), p.Status())
			}
			return nil
		})
	}
	waitRunning("g", 2)
	send("exit")
	f.waitCrash("js", "exit:enough")
	waitRunning("js", 2)
	send("kill")
	f.waitCrash("js", actor.ReasonKilled)
	if got := in.waitFor(t, 3); got[1] != nil || got[2] != nil {
		t.Errorf("exit and kill from g returned %v, %v", got[1], got[2])
	}
	// Context.Stop with an abnormal reason, then the operator.
	send("quit")
	f.waitCrash("g", "exit:tired")
	waitRunning("g", 3)
	g, _ := f.node.Lookup("g")
	if err := f.node.Kill(g.ID()); err != nil {
		t.Fatal(err)
	}
	waitRunning("g", 4)
	if err := f.node.Restart(g.ID()); err != nil {
		t.Fatal(err)
	}
	waitRunning("g", 5)
	if _, err := f.node.Inspect(context.Background(), g.ID()); !errors.Is(err, actor.ErrNoInspect) {
		t.Errorf("inspect of a Go actor: %v, want ErrNoInspect", err)
	}
}
