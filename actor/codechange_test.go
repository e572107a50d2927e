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
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// versionJS answers get with its version and how many incs it has seen;
// hold makes a turn that holds the mailbox, so that incs queue behind it.
const versionJS = `
let n = 0;
export async function receive(msg, ctx) {
  if (msg.type === "hold") await new Promise((resolve) => setTimeout(resolve, 3600000));
  if (msg.type === "inc") n++;
  if (msg.type === "get") return {v: VERSION, n};
  if (msg.type === "spawn") { const w = await ctx.env.pool.spawn({}); return await w.call({type: "get"}); }
}`

func versionScript(t *testing.T, v int) *isolate.Script {
	t.Helper()
	s, err := isolate.Compile("/app/svc.js", []byte(strings.Replace(versionJS, "VERSION", fmt.Sprint(v), 1)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type version struct {
	V int `msgpack:"v"`
	N int `msgpack:"n"`
}

func getVersion(t *testing.T, n *actor.Node, path string, msg string) version {
	t.Helper()
	c, err := n.Capability(path, capability.All)
	if err != nil {
		t.Fatal(err)
	}
	var v version
	if err := n.Call(context.Background(), c, map[string]any{"type": msg}, &v); err != nil {
		t.Fatalf("%s %s: %v", msg, path, err)
	}
	return v
}

func TestCodeChange_RestartsTheSlotsOfAScriptKeepingTheirMailboxes(t *testing.T) {
	v1 := versionScript(t, 1)
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	watch := worker(t, "watchdog", slotWatcherJS, actor.GrantSpec{Name: "worker", To: "svc", Rights: capability.Monitor})
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1, time.Minute), Children: []actor.ChildSpec{
		{Name: "svc", Script: v1},
		{Name: "twin", Script: v1, Grants: []actor.GrantSpec{{Name: "pool", To: "pool", Rights: capability.Spawn}}},
		{Name: "pool", Strategy: supervisor.NewOneForOne(10, time.Minute), Template: &actor.ChildSpec{Script: v1}},
		watch,
	}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	f := &fixture{t: t, node: n}
	if got := getVersion(t, n, "twin", "spawn"); got.V != 1 {
		t.Fatalf("a child spawned before the change runs version %d", got.V)
	}

	svc := f.cap("svc")
	for _, m := range []string{"hold", "inc", "inc", "inc"} {
		if err := n.Send(context.Background(), svc, map[string]any{"type": m}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := n.Lookup("svc")
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if p.MailboxDepth() != 3 {
			return fmt.Errorf("svc has %d queued, want the 3 incs behind the held turn", p.MailboxDepth())
		}
		return nil
	})
	restarted, err := n.CodeChange("/app/svc.js", versionScript(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(restarted, ","); got != "svc,twin,pool/1" {
		t.Fatalf("restarted %q, want svc, twin and the dynamic child", got)
	}
	if got := getVersion(t, n, "svc", "get"); got != (version{V: 2, N: 3}) {
		t.Fatalf("after the change svc answers %+v, want version 2 with the 3 queued incs", got)
	}
	// twin held no turn: its restart goes through its supervisor, and a
	// call that gets there first is answered by the old code.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := getVersion(t, n, "twin", "get"); got.V != 2 {
			return fmt.Errorf("twin runs version %d", got.V)
		}
		return nil
	})
	if got := getVersion(t, n, "twin", "spawn"); got.V != 2 {
		t.Fatalf("a child spawned after the change runs version %d", got.V)
	}
	notes := f.waitNotes("watchdog", 2)
	if notes[0]["type"] != "down" || notes[0]["reason"] != actor.ReasonCodeChange || notes[1]["type"] != "up" {
		t.Fatalf("the watchdog saw %v, want a down with reason code_change, then up", notes)
	}
	// A code change is no crash: the root's intensity of 1 is untouched.
	if cr := p.Crashes(); len(cr) != 0 {
		t.Fatalf("svc has crash reports %v", cr)
	}
}

func TestRestart_RunsTheCurrentCodeOfTheSlot(t *testing.T) {
	v1, v2 := versionScript(t, 1), versionScript(t, 2)
	var reloadErr error
	next := v2
	n, err := actor.NewNode(actor.Options{Reload: func(s *isolate.Script) (*isolate.Script, error) {
		if s.Path() != "/app/svc.js" {
			t.Errorf("reload of %q", s.Path())
		}
		return next, reloadErr
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(oneForOne(actor.ChildSpec{Name: "svc", Script: v1})); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	p, _ := n.Lookup("svc")
	reloadErr = &isolate.CompileError{File: "/app/svc.js", Line: 3, Column: 1, Msg: "Unexpected end of file"}
	if err := n.Restart(p.ID()); !errors.As(err, new(*isolate.CompileError)) {
		t.Fatalf("restart with a script that does not compile: %v", err)
	}
	if got := getVersion(t, n, "svc", "get"); got.V != 1 || p.Incarnation() != 1 {
		t.Fatalf("after a failed reload: version %d, incarnation %d; want the old code running", got.V, p.Incarnation())
	}
	reloadErr = nil
	if err := n.Restart(p.ID()); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if p.Incarnation() != 2 || p.Status() != actor.StatusRunning {
			return fmt.Errorf("incarnation %d, %s", p.Incarnation(), p.Status())
		}
		return nil
	})
	if got := getVersion(t, n, "svc", "get"); got.V != 2 {
		t.Fatalf("after an operator restart svc runs version %d, want the reloaded 2", got.V)
	}
}

func TestProcess_BusyGrowsWithTheWorkItHandles(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "counter", counterJS))
	p, _ := f.node.Lookup("counter")
	// A turn's time is added once the turn ends, which may be just after
	// its answer reached the caller: wait for it rather than race it.
	f.mustCall("counter", map[string]any{"type": "inc"})
	var b1 time.Duration
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if b1 = p.Busy(); b1 <= 0 {
			return fmt.Errorf("busy %v after a start and a call", b1)
		}
		return nil
	})
	f.mustCall("counter", map[string]any{"type": "inc"})
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if b2 := p.Busy(); b2 <= b1 {
			return fmt.Errorf("busy %v after another call, was %v", b2, b1)
		}
		return nil
	})
}
