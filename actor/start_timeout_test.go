package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// Scripts whose init never finishes: one awaits a promise that never
// settles, one runs on the CPU.
const (
	awaitForeverJS = `
export async function init() { await new Promise(() => {}); }
export function receive() { return "ok"; }`
	spinJS = `
export function init() { for (;;) {} }
export function receive() { return "ok"; }`
	readyJS = `export function receive() { return "ok"; }`
)

func compileJS(t *testing.T, name, src string) *isolate.Script {
	t.Helper()
	s, err := isolate.Compile(name+".js", []byte(src))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return s
}

func TestStartTimeout_FailsTheNodeStart(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		limits isolate.Limits
	}{
		{"awaiting init", awaitForeverJS, isolate.Limits{}},
		// Wall time is never shorter than CPU time: a 50 ms start timeout
		// runs out before a 300 ms CPU limit can.
		{"cpu-bound init", spinJS, isolate.Limits{CPU: 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := actor.NewNode(actor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var after *actor.Process
			root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(5, time.Minute), Children: []actor.ChildSpec{
				{Name: "first", Script: compileJS(t, "first", readyJS)},
				{Name: "slow", Script: compileJS(t, "slow", tt.src), Limits: tt.limits, StartTimeout: 50 * time.Millisecond},
				{Name: "after", Script: compileJS(t, "after", readyJS)},
			}}
			err = n.Start(root)
			if !errors.Is(err, actor.ErrStartTimeout) {
				t.Fatalf("Start = %v, want ErrStartTimeout", err)
			}
			if !strings.Contains(err.Error(), "slow") {
				t.Errorf("Start = %q, does not name the child", err)
			}
			if err := n.Wait(); err != nil {
				t.Errorf("Wait = %v after a failed start", err)
			}
			after, _ = n.Lookup("after")
			if got := after.Incarnation(); got != 0 {
				t.Errorf("the child after the slow one ran %d incarnations, want none", got)
			}
			for _, path := range []string{"first", "slow"} {
				if p, _ := n.Lookup(path); p.Status() == actor.StatusRunning {
					t.Errorf("%s is running after the start failed", path)
				}
			}
		})
	}
}

func TestStartTimeout_InTimeIsStarted(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// init awaits a timer well inside its start timeout.
	src := `
export async function init() { await new Promise((resolve) => setTimeout(resolve, 20)); }
export function receive() { return "ok"; }`
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(5, time.Minute), Children: []actor.ChildSpec{
		{Name: "w", Script: compileJS(t, "w", src), StartTimeout: time.Minute},
	}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer shutdownNode(t, n)
	w, _ := n.Lookup("w")
	if got := len(w.Crashes()); got != 0 {
		t.Errorf("w has %d crash reports, want none", got)
	}
}

func TestStartTimeout_SupervisorTakesNone(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(5, time.Minute), Children: []actor.ChildSpec{
		{Name: "sup", Strategy: supervisor.NewOneForOne(5, time.Minute), StartTimeout: time.Second,
			Children: []actor.ChildSpec{{Name: "w", Script: compileJS(t, "w", readyJS)}}},
	}}
	if err := n.Start(root); err == nil || !strings.Contains(err.Error(), `"sup"`) {
		t.Fatalf("Start = %v, want an error naming sup", err)
	}
}

// A restarted incarnation that no supervisor waits for is killed by its
// own start timeout, and its supervisor restarts it as after any crash.
func TestStartTimeout_RestartedIncarnation(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// counter answers how many times it was asked; w's first incarnation
	// starts, every later one hangs in init.
	counter := `let k = 0; export function receive() { return ++k; }`
	w := `
export async function init(_, ctx) {
  if (await ctx.env.counter.call("next") > 1) await new Promise(() => {});
}
export function receive(msg) { if (msg === "boom") throw new Error("boom"); return "ok"; }`
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1000, time.Minute), Children: []actor.ChildSpec{
		{Name: "counter", Script: compileJS(t, "counter", counter)},
		// The first init makes a call: its start timeout leaves room for
		// that on a loaded machine; later ones hang until it runs out.
		{Name: "w", Script: compileJS(t, "w", w), StartTimeout: 2 * time.Second,
			Grants: []actor.GrantSpec{{Name: "counter", To: "counter", Rights: capability.Send}}},
	}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer shutdownNode(t, n)
	if err := callGo(n, "w", "ping"); err != nil {
		t.Fatalf("first incarnation: %v", err)
	}
	if err := callGo(n, "w", "boom"); !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("boom: %v, want ErrCalleeCrashed", err)
	}
	proc, _ := n.Lookup("w")
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		for _, c := range proc.Crashes() {
			if c.Incarnation >= 2 && errors.Is(c, actor.ErrStartTimeout) {
				if c.Reason != actor.ReasonKilled || c.Action != actor.ActionRestart {
					return fmt.Errorf("crash %d: reason %q, action %q; want killed, restart", c.Incarnation, c.Reason, c.Action)
				}
				return nil
			}
		}
		return fmt.Errorf("no start-timeout crash yet: %v", proc.Crashes())
	})
}

// A dynamic child whose init runs past its start timeout fails the spawn,
// and leaves no child behind.
func TestStartTimeout_Spawn(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := actor.ChildSpec{Script: compileJS(t, "tmpl", awaitForeverJS), StartTimeout: 20 * time.Millisecond}
	boss := `
export async function receive(msg, ctx) {
  try { await ctx.env.pool.spawn({}); return "spawned"; } catch (e) { return e.message; }
}`
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1000, time.Minute), Children: []actor.ChildSpec{
		{Name: "pool", Strategy: supervisor.NewOneForOne(1000, time.Minute), Template: &tmpl},
		{Name: "boss", Script: compileJS(t, "boss", boss), Grants: []actor.GrantSpec{{Name: "pool", To: "pool", Rights: capability.Spawn}}},
	}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer shutdownNode(t, n)
	c, _ := n.Capability("boss", capability.Send)
	var msg string
	if err := n.Call(context.Background(), c, "go", &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "pool/1") || !strings.Contains(msg, actor.ErrStartTimeout.Error()) {
		t.Errorf("spawn answered %q, want a start timeout naming pool/1", msg)
	}
	pool, _ := n.Lookup("pool")
	testkit.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := len(pool.Children()); got != 0 {
			return fmt.Errorf("pool has %d children, want none", got)
		}
		return nil
	})
}

func callGo(n *actor.Node, path string, msg any) error {
	c, err := n.Capability(path, capability.Send)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.Call(ctx, c, msg, nil)
}

func shutdownNode(t *testing.T, n *actor.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// A Go template child whose Init outlives its start timeout fails the
// spawn like a script's, and the incarnation given up on is killed once
// Init returns: it does not live on outside its supervisor's books.
func TestStartTimeout_GoSpawn(t *testing.T) {
	release := make(chan struct{})
	slow := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Init); ok {
				<-release
			}
		})
	}
	n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"slow": slow}})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan string, 16) // pool/1's end: its supervisor stops an abandoned child
	sub := n.Subscribe(func(e actor.Event) {
		switch e := e.(type) {
		case actor.Crashed:
			if e.Crash.Path == "pool/1" {
				ended <- e.Crash.Reason
			}
		case actor.Stopped:
			if e.Path == "pool/1" {
				ended <- e.Reason
			}
		}
	})
	defer sub.Close()
	tmpl := actor.ChildSpec{Go: "slow", StartTimeout: 20 * time.Millisecond, Restart: actor.Temporary}
	boss := `
export async function receive(msg, ctx) {
  try { await ctx.env.pool.spawn({}); return "spawned"; } catch (e) { return e.message; }
}`
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1000, time.Minute), Children: []actor.ChildSpec{
		{Name: "pool", Strategy: supervisor.NewOneForOne(1000, time.Minute), Template: &tmpl},
		{Name: "boss", Script: compileJS(t, "boss", boss), Grants: []actor.GrantSpec{{Name: "pool", To: "pool", Rights: capability.Spawn}}},
	}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer shutdownNode(t, n)
	c, _ := n.Capability("boss", capability.Send)
	var msg string
	if err := n.Call(context.Background(), c, "go", &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "pool/1") || !strings.Contains(msg, actor.ErrStartTimeout.Error()) {
		t.Errorf("spawn answered %q, want a start timeout naming pool/1", msg)
	}
	close(release)
	select {
	case reason := <-ended:
		if reason != actor.ReasonKilled {
			t.Errorf("pool/1 ended with %q, want killed by its start timeout", reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Go child given up on was never killed")
	}
}
