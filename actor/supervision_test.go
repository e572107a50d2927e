package actor_test

import (
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

// watcherJS records every notification and answers what it saw. Its
// commands drive the host API on the capability ctx.env.peer.
const watcherJS = `
const notes = [];
let ref = null;
export function receive(msg, ctx) {
  if (ctx.isNotification(msg)) {
    notes.push({type: msg.type, reason: msg.reason, from: msg.from ?? null, mine: msg.ref === ref});
    return;
  }
  switch (msg.op) {
  case "monitor": ref = ctx.env.peer.monitor(); return "ok";
  case "demonitor": return ctx.env.peer.demonitor(ref);
  case "link": ctx.env.peer.link(); return "ok";
  case "unlink": ctx.env.peer.unlink(); return "ok";
  case "trap": ctx.trapExits(true); return "ok";
  case "exit": ctx.env.peer.exit(msg.reason); return "ok";
  case "kill": ctx.env.peer.kill(); return "ok";
  case "notes": return notes;
  case "crash": throw new Error("watcher asked to crash");
  }
  return "?";
}`

// victimJS counts messages, crashes or stops on request.
const victimJS = `
let n = 0;
export function receive(msg, ctx) {
  if (msg.op === "crash") throw new Error("asked to crash");
  if (msg.op === "stop") { ctx.stop(msg.reason); return "stopping"; }
  if (msg.op === "trap") { ctx.trapExits(true); return "ok"; }
  n++;
  return n;
}`

func (f *fixture) notes(path string) []map[string]any {
	f.t.Helper()
	v := f.mustCall(path, map[string]any{"op": "notes"})
	var out []map[string]any
	for _, e := range v.([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func (f *fixture) waitNotes(path string, n int) []map[string]any {
	f.t.Helper()
	var got []map[string]any
	checkFor(f.t, 5*time.Second, 5*time.Millisecond, func() error {
		got = f.notes(path)
		if len(got) < n {
			return fmt.Errorf("%s has %d notifications %v, want %d", path, len(got), got, n)
		}
		return nil
	})
	return got
}

func (f *fixture) proc(path string) *actor.Process {
	p, ok := f.node.Lookup(path)
	if !ok {
		f.t.Fatalf("no process %q", path)
	}
	return p
}

func (f *fixture) waitIncarnation(path string, inc uint64) {
	f.t.Helper()
	checkFor(f.t, 5*time.Second, 5*time.Millisecond, func() error {
		p := f.proc(path)
		if p.Incarnation() != inc || p.Status() != actor.StatusRunning {
			return fmt.Errorf("%s: incarnation %d (%s), want %d running", path, p.Incarnation(), p.Status(), inc)
		}
		return nil
	})
}

func peer(rights capability.Rights) actor.GrantSpec {
	return actor.GrantSpec{Name: "peer", To: "victim", Rights: rights}
}

func TestMonitor_DownCarriesTheReason(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "victim", victimJS), worker(t, "watcher", watcherJS, peer(capability.Monitor|capability.Send)))
	f.mustCall("watcher", map[string]any{"op": "monitor"})
	_, err := f.call("victim", map[string]any{"op": "crash"})
	if !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("crash call: %v", err)
	}
	got := f.waitNotes("watcher", 1)
	if got[0]["type"] != "down" || got[0]["reason"] != "error" || got[0]["mine"] != true {
		t.Fatalf("notification = %v, want a down with reason error and the monitor's ref", got[0])
	}
	// The monitor fired once: a second crash of the new incarnation is not reported.
	f.waitIncarnation("victim", 2)
	_, _ = f.call("victim", map[string]any{"op": "crash"})
	f.waitIncarnation("victim", 3)
	if got := f.notes("watcher"); len(got) != 1 {
		t.Fatalf("notifications after a second crash: %v, want still one", got)
	}
	if p := f.proc("watcher"); p.Restarts() != 0 {
		t.Fatalf("the watcher restarted %d times", p.Restarts())
	}
}

func TestMonitor_NoProcAndDemonitor(t *testing.T) {
	victim := worker(t, "victim", victimJS)
	victim.Restart = actor.Transient
	f := start(t, isolate.Limits{}, victim, worker(t, "watcher", watcherJS, peer(capability.Monitor|capability.Send)))
	// A demonitored process ending sends nothing.
	f.mustCall("watcher", map[string]any{"op": "monitor"})
	if got := f.mustCall("watcher", map[string]any{"op": "demonitor"}); got != true {
		t.Fatalf("demonitor = %v, want true", got)
	}
	f.mustCall("victim", map[string]any{"op": "stop", "reason": "normal"})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if s := f.proc("victim").Status(); s != actor.StatusStopped {
			return fmt.Errorf("victim is %s", s)
		}
		return nil
	})
	// Monitoring what has ended gives a down with noproc at once.
	f.mustCall("watcher", map[string]any{"op": "monitor"})
	got := f.waitNotes("watcher", 1)
	if len(got) != 1 || got[0]["reason"] != "noproc" || got[0]["mine"] != true {
		t.Fatalf("notifications = %v, want exactly one down with noproc", got)
	}
}

func TestLink_AbnormalExitTakesTheOtherSideDown(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "victim", victimJS), worker(t, "watcher", watcherJS, peer(capability.Link|capability.Send)))
	f.mustCall("watcher", map[string]any{"op": "link"})
	_, _ = f.call("victim", map[string]any{"op": "crash"})
	c := f.waitCrash("watcher", "linked")
	if !strings.Contains(c.Err.Error(), "victim") {
		t.Errorf("linked crash %v does not name the victim", c.Err)
	}
	f.waitIncarnation("watcher", 2)
	// Links are per incarnation: the restarted pair is not linked.
	_, _ = f.call("victim", map[string]any{"op": "crash"})
	f.waitIncarnation("victim", 3)
	if n := len(f.crashes("watcher")); n != 1 {
		t.Fatalf("watcher crashed %d times, want 1", n)
	}
	// And the other way round: the linker's crash takes the victim down.
	f.mustCall("watcher", map[string]any{"op": "link"})
	_, _ = f.call("watcher", map[string]any{"op": "crash"})
	f.waitCrash("victim", "linked")
}

func TestLink_NormalExitDoesNotPropagateAndTrapExitsNotifies(t *testing.T) {
	victim := worker(t, "victim", victimJS)
	victim.Restart = actor.Transient
	f := start(t, isolate.Limits{}, victim, worker(t, "watcher", watcherJS, peer(capability.Link|capability.Send)))
	f.mustCall("watcher", map[string]any{"op": "trap"})
	f.mustCall("watcher", map[string]any{"op": "link"})
	f.mustCall("victim", map[string]any{"op": "stop", "reason": "normal"})
	got := f.waitNotes("watcher", 1)
	if got[0]["type"] != "exit" || got[0]["reason"] != "normal" || got[0]["from"] != "victim" {
		t.Fatalf("notification = %v, want exit from victim with reason normal", got[0])
	}
	if n := len(f.crashes("watcher")); n != 0 {
		t.Fatalf("watcher crashed: %v", f.crashes("watcher"))
	}
}

func TestExitAndKill(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "victim", victimJS), worker(t, "watcher", watcherJS, peer(capability.Exit|capability.Kill|capability.Send)))
	f.mustCall("watcher", map[string]any{"op": "exit", "reason": "normal"})
	f.mustCall("victim", map[string]any{"op": "count"}) // a normal exit signal is ignored
	if p := f.proc("victim"); p.Incarnation() != 1 {
		t.Fatalf("exit(normal) restarted the victim")
	}
	f.mustCall("watcher", map[string]any{"op": "exit", "reason": "bye"})
	f.waitCrash("victim", "exit:bye")
	f.waitIncarnation("victim", 2)

	// A trapping process gets exit signals as notifications, but kill is untrappable.
	f.mustCall("victim", map[string]any{"op": "trap"})
	f.mustCall("watcher", map[string]any{"op": "exit", "reason": "please"})
	f.mustCall("victim", map[string]any{"op": "count"})
	if p := f.proc("victim"); p.Incarnation() != 2 {
		t.Fatalf("a trapped exit restarted the victim")
	}
	f.mustCall("watcher", map[string]any{"op": "kill"})
	f.waitCrash("victim", "killed")
	f.waitIncarnation("victim", 3)
}

func TestRestartTypes(t *testing.T) {
	for _, tc := range []struct {
		restart   actor.RestartType
		op        map[string]any
		restarted bool
	}{
		{actor.Permanent, map[string]any{"op": "stop", "reason": "normal"}, true},
		{actor.Permanent, map[string]any{"op": "crash"}, true},
		{actor.Transient, map[string]any{"op": "stop", "reason": "normal"}, false},
		{actor.Transient, map[string]any{"op": "stop", "reason": "shutdown"}, false},
		{actor.Transient, map[string]any{"op": "stop", "reason": "oops"}, true},
		{actor.Transient, map[string]any{"op": "crash"}, true},
		{actor.Temporary, map[string]any{"op": "crash"}, false},
		{actor.Temporary, map[string]any{"op": "stop", "reason": "normal"}, false},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.restart, tc.op), func(t *testing.T) {
			victim := worker(t, "victim", victimJS)
			victim.Restart = tc.restart
			f := start(t, isolate.Limits{}, victim)
			_, _ = f.call("victim", tc.op)
			if tc.restarted {
				f.waitIncarnation("victim", 2)
				f.mustCall("victim", map[string]any{"op": "count"})
				return
			}
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				if s := f.proc("victim").Status(); s != actor.StatusStopped {
					return fmt.Errorf("victim is %s, want stopped", s)
				}
				return nil
			})
			if _, err := f.call("victim", map[string]any{"op": "count"}); !errors.Is(err, isolate.ErrNoProc) {
				t.Fatalf("call after the end: %v, want ErrNoProc", err)
			}
		})
	}
}

// strategyTree starts a, b, c under a supervisor with the given strategy
// and crashes the one named.
func TestStrategies_WhichSiblingsRestart(t *testing.T) {
	for _, tc := range []struct {
		strategy actor.Strategy
		crash    string
		want     map[string]uint64 // incarnation after the crash
	}{
		{supervisor.NewOneForOne(10, time.Minute), "b", map[string]uint64{"a": 1, "b": 2, "c": 1}},
		{supervisor.NewOneForAll(10, time.Minute), "b", map[string]uint64{"a": 2, "b": 2, "c": 2}},
		{supervisor.NewRestForOne(10, time.Minute), "b", map[string]uint64{"a": 1, "b": 2, "c": 2}},
		{supervisor.NewRestForOne(10, time.Minute), "a", map[string]uint64{"a": 2, "b": 2, "c": 2}},
		{supervisor.NewRestForOne(10, time.Minute), "c", map[string]uint64{"a": 1, "b": 1, "c": 2}},
	} {
		t.Run(tc.strategy.String()+"/"+tc.crash, func(t *testing.T) {
			sup := actor.ChildSpec{Name: "sup", Strategy: tc.strategy, Children: []actor.ChildSpec{
				worker(t, "a", victimJS), worker(t, "b", victimJS), worker(t, "c", victimJS)}}
			f := start(t, isolate.Limits{}, sup)
			for _, name := range []string{"a", "b", "c"} {
				f.mustCall("sup/"+name, map[string]any{"op": "count"})
			}
			_, _ = f.call("sup/"+tc.crash, map[string]any{"op": "crash"})
			for name, inc := range tc.want {
				f.waitIncarnation("sup/"+name, inc)
			}
			// Settle, then check nothing else restarted.
			time.Sleep(50 * time.Millisecond)
			for name, inc := range tc.want {
				if got := f.proc("sup/" + name).Incarnation(); got != inc {
					t.Errorf("%s: incarnation %d, want %d", name, got, inc)
				}
				if got := f.mustCall("sup/"+name, map[string]any{"op": "count"}); got != int8(1) && got != uint8(1) && inc > 1 {
					t.Errorf("%s after restart counted %v, want 1 (fresh state)", name, got)
				}
			}
		})
	}
}

func TestIntensity_AtAndOverTheLimit(t *testing.T) {
	for _, tc := range []struct {
		crashes int
		fails   bool
	}{{3, false}, {4, true}} {
		t.Run(fmt.Sprint(tc.crashes), func(t *testing.T) {
			sup := actor.ChildSpec{Name: "sup", Strategy: supervisor.NewOneForOne(3, time.Minute),
				Children: []actor.ChildSpec{worker(t, "w", victimJS)}}
			f := start(t, isolate.Limits{}, sup, worker(t, "bystander", victimJS))
			for i := 1; i <= tc.crashes; i++ {
				f.waitIncarnation("sup/w", uint64(i))
				_, _ = f.call("sup/w", map[string]any{"op": "crash"})
			}
			if !tc.fails {
				f.waitIncarnation("sup/w", uint64(tc.crashes+1))
				if p := f.proc("sup"); p.Incarnation() != 1 {
					t.Fatalf("sup restarted at exactly the intensity")
				}
				return
			}
			// Over the limit, sup fails and its parent (one_for_one, room to
			// spare) restarts it with a fresh child.
			var cr *actor.Crash
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				for _, c := range f.proc("sup").Crashes() {
					if c.Reason == supervisor.ReasonMaxIntensity {
						cr = c
						return nil
					}
				}
				return errors.New("sup has not failed")
			})
			if cr.Action != actor.ActionRestart {
				t.Errorf("sup's failure: the root did %q, want restart", cr.Action)
			}
			ws := f.proc("sup/w").Crashes()
			if last := ws[len(ws)-1]; last.Action != actor.ActionEscalate {
				t.Errorf("w's last crash: sup did %q, want escalate", last.Action)
			}
			f.waitIncarnation("sup", 2)
			f.mustCall("sup/w", map[string]any{"op": "count"})
			if p := f.proc("bystander"); p.Incarnation() != 1 {
				t.Errorf("the bystander restarted")
			}
		})
	}
}

func TestEscalation_TwoLevelsUp(t *testing.T) {
	inner := actor.ChildSpec{Name: "inner", Strategy: supervisor.NewOneForOne(0, time.Minute),
		Children: []actor.ChildSpec{worker(t, "w", victimJS)}}
	mid := actor.ChildSpec{Name: "mid", Strategy: supervisor.NewOneForOne(0, time.Minute),
		Children: []actor.ChildSpec{inner, worker(t, "sibling", victimJS)}}
	f := start(t, isolate.Limits{}, mid, worker(t, "top", victimJS))
	_, _ = f.call("mid/inner/w", map[string]any{"op": "crash"})
	// inner fails (intensity 0), so mid fails too; the root restarts mid,
	// which brings up a fresh inner and sibling.
	f.waitIncarnation("mid", 2)
	f.waitIncarnation("mid/inner", 2)
	f.mustCall("mid/inner/w", map[string]any{"op": "count"})
	f.mustCall("mid/sibling", map[string]any{"op": "count"})
	for _, path := range []string{"mid", "mid/inner"} {
		crashes := f.proc(path).Crashes()
		if len(crashes) == 0 || crashes[0].Reason != supervisor.ReasonMaxIntensity {
			t.Errorf("%s crashes = %v, want %s", path, crashes, supervisor.ReasonMaxIntensity)
		}
	}
	if p := f.proc("top"); p.Incarnation() != 1 {
		t.Errorf("top restarted")
	}
}

func TestShutdown_ReverseOrderAndTimeoutKill(t *testing.T) {
	var log lockedBuffer
	n, err := actor.NewNode(actor.Options{Logger: newLogger(&log), Limits: isolate.Limits{CPU: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	stuck := worker(t, "stuck", `export function receive() {} export function terminate() { while (true) {} }`)
	stuck.Shutdown = 50 * time.Millisecond
	var order []string
	done := make(chan struct{})
	n.Subscribe(func(e actor.Event) {
		if s, ok := e.(actor.Stopped); ok {
			order = append(order, s.Path+":"+s.Reason)
			if len(order) == 3 {
				close(done)
			}
		}
	})
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "first", victimJS), stuck, worker(t, "last", victimJS)}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := n.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-done
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v; the stuck terminate should be cut at 50ms", d)
	}
	want := []string{"last:shutdown", "stuck:killed", "first:shutdown"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("stop order = %v, want %v", order, want)
	}
}

func TestSpawn_FromTemplate(t *testing.T) {
	tmpl := worker(t, "tmpl", `
let me = "";
export function init(args) { me = args.name; }
export function receive(msg, ctx) { if (msg.op === "quit") { ctx.stop(); return "bye"; } return "I am " + me; }`)
	tmpl.Restart = actor.Transient
	pool := actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(3, time.Second), Template: &tmpl, MaxChildren: 2}
	boss := worker(t, "boss", `
const kids = [];
export async function receive(msg, ctx) {
  if (msg.op === "spawn") {
    try { const k = await ctx.env.pool.spawn({name: msg.name}); kids.push(k); return k.rights; }
    catch (e) { return e.name + ": " + e.message; }
  }
  if (msg.op === "ask") return await kids[msg.i].call({});
  if (msg.op === "quit") return await kids[msg.i].call({op: "quit"});
  if (msg.op === "send") { try { kids[msg.i].send({}); return "sent"; } catch (e) { return e.name; } }
}`, actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn})
	f := start(t, isolate.Limits{}, pool, boss)
	got := f.mustCall("boss", map[string]any{"op": "spawn", "name": "x"})
	if fmt.Sprint(got) != "[send monitor link exit kill inspect]" {
		t.Fatalf("spawn gave rights %v", got)
	}
	f.mustCall("boss", map[string]any{"op": "spawn", "name": "y"})
	if got := f.mustCall("boss", map[string]any{"op": "ask", "i": 1}); got != "I am y" {
		t.Fatalf("second child answered %v", got)
	}
	if got := f.mustCall("boss", map[string]any{"op": "spawn", "name": "z"}); !strings.Contains(fmt.Sprint(got), "too many children") {
		t.Fatalf("third spawn past the limit of 2: %v", got)
	}
	if n := len(f.proc("pool").Children()); n != 2 {
		t.Fatalf("pool has %d children", n)
	}
	// A transient child that ends normally is gone, and so is its capability.
	f.mustCall("boss", map[string]any{"op": "quit", "i": 0})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := len(f.proc("pool").Children()); n != 1 {
			return fmt.Errorf("pool has %d children after one quit", n)
		}
		return nil
	})
	if got := f.mustCall("boss", map[string]any{"op": "send", "i": 0}); got != "NoProcError" {
		t.Fatalf("send to the ended child: %v, want NoProcError", got)
	}
}

func TestSpawn_NeedsTheRight(t *testing.T) {
	tmpl := worker(t, "tmpl", victimJS)
	pool := actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(3, time.Second), Template: &tmpl}
	boss := worker(t, "boss", `
export async function receive(msg, ctx) {
  try { await ctx.env.pool.spawn({}); return "spawned"; } catch (e) { return e.name; }
}`, actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Send | capability.Monitor})
	f := start(t, isolate.Limits{}, pool, boss)
	if got := f.mustCall("boss", map[string]any{}); got != "CapabilityError" {
		t.Fatalf("spawn without the right: %v", got)
	}
	if n := len(f.proc("pool").Children()); n != 0 {
		t.Fatalf("pool has %d children", n)
	}
}

func TestStart_InitThrowFailsTheStart(t *testing.T) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := worker(t, "bad", `export function init() { throw new Error("no config"); } export function receive() {}`)
	var started []string
	sub := n.Subscribe(func(e actor.Event) {
		if s, ok := e.(actor.Started); ok {
			started = append(started, s.Path)
		}
	})
	err = n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "first", victimJS), bad, worker(t, "never", victimJS)}})
	<-sub.Done() // the failed start shut the node down; every event has been delivered
	if err == nil || !strings.Contains(err.Error(), "bad") || !strings.Contains(err.Error(), "no config") {
		t.Fatalf("Start = %v, want an error naming bad and its init's error", err)
	}
	if fmt.Sprint(started) != "[first bad]" {
		t.Errorf("started %v: children after the failed one must not start", started)
	}
	_ = n.Wait()
}

func TestMonitor_OperatorKillIsReportedAsKilled(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "victim", victimJS), worker(t, "watcher", watcherJS, peer(capability.Monitor|capability.Send)))
	f.mustCall("watcher", map[string]any{"op": "monitor"})
	if err := f.node.Kill(f.proc("victim").ID()); err != nil {
		t.Fatal(err)
	}
	got := f.waitNotes("watcher", 1)
	if got[0]["reason"] != "killed" {
		t.Fatalf("down after an operator kill: %v, want reason killed", got[0])
	}
	f.waitIncarnation("victim", 2)
}

func TestOneForAll_SiblingsTerminateAndRestartInOrder(t *testing.T) {
	rec := worker(t, "rec", `
const log = [];
export function receive(msg) { if (msg.op === "log") return log; log.push(msg.ev); }`)
	member := func(name string) actor.ChildSpec {
		return worker(t, name, `
let me = "";
export function init(args, ctx) { me = ctx.env.rec ? "`+name+`" : ""; ctx.env.rec.send({ev: "init " + me}); }
export function receive(msg) { if (msg.op === "crash") throw new Error("boom"); return me; }
export function terminate(reason, ctx) { ctx.env.rec.send({ev: "terminate " + me + " " + reason}); }`,
			actor.GrantSpec{Name: "rec", To: "rec", Rights: capability.Send})
	}
	sup := actor.ChildSpec{Name: "sup", Strategy: supervisor.NewOneForAll(5, time.Minute),
		Children: []actor.ChildSpec{member("a"), member("b"), member("c")}}
	f := start(t, isolate.Limits{}, rec, sup)
	_, _ = f.call("sup/b", map[string]any{"op": "crash"})
	// Each sibling is stopped (terminate runs; the crashed b has none) and
	// restarted in start order, one up before the next is touched.
	want := "[init a init b init c terminate a shutdown init a init b terminate c shutdown init c]"
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if got := fmt.Sprint(f.mustCall("rec", map[string]any{"op": "log"})); got != want {
			return fmt.Errorf("log %s, want %s", got, want)
		}
		return nil
	})
}

func TestInspect_NeedsTheRightAndCopiesTheState(t *testing.T) {
	target := worker(t, "victim", `
let n = 41;
export function receive(msg, ctx) { n++; return n; }
export function inspect(ctx) { return {n, self: msg()}; }
function msg() { return "counter"; }`)
	holder := worker(t, "holder", `
export function receive() {}
export function inspect(ctx) { return {mine: ctx.self}; }`)
	asker := worker(t, "asker", `
export async function receive(msg, ctx) {
  const out = [];
  for (const c of [ctx.env.peer, ctx.env.blind, ctx.env.holder]) {
    try { const s = await c.inspect(); s.n = 0; out.push(JSON.stringify(s)); } catch (e) { out.push(e.name + ": " + e.message); }
  }
  return out;
}`, peer(capability.Inspect), actor.GrantSpec{Name: "blind", To: "victim", Rights: capability.Send},
		actor.GrantSpec{Name: "holder", To: "holder", Rights: capability.Inspect})
	f := start(t, isolate.Limits{}, target, holder, asker)
	f.mustCall("victim", map[string]any{})
	got := f.mustCall("asker", map[string]any{}).([]any)
	if got[0] != `{"n":0,"self":"counter"}` {
		t.Errorf("inspect with the right: %v", got[0])
	}
	if !strings.HasPrefix(got[1].(string), "CapabilityError: inspect") {
		t.Errorf("inspect without the right: %v", got[1])
	}
	if !strings.Contains(got[2].(string), "does not hand out") {
		t.Errorf("inspect of a state holding a capability: %v", got[2])
	}
	// The copy was changed, not the state.
	if n := f.mustCall("victim", map[string]any{}); fmt.Sprint(n) != "43" {
		t.Errorf("victim counted %v after being inspected, want 43", n)
	}
}

func TestExit_SignalFloodIsBounded(t *testing.T) {
	victim := worker(t, "victim", victimJS)
	victim.Mailbox.Messages = 50
	flooder := worker(t, "watcher", `
export function receive(msg, ctx) {
  let sent = 0, refused = "";
  for (let i = 0; i < 100000; i++) {
    try { ctx.env.peer.exit("normal"); sent++; } catch (e) { refused = e.name; break; }
  }
  return {sent, refused};
}`, peer(capability.Exit))
	f := start(t, isolate.Limits{CPU: 2 * time.Second}, victim, flooder) // roomy under the race detector
	got := f.mustCall("watcher", map[string]any{}).(map[string]any)
	if got["refused"] != "MailboxFull" {
		t.Fatalf("100,000 exit signals: %v, want MailboxFull once the victim's 50 were waiting", got)
	}
	f.mustCall("victim", map[string]any{"op": "count"})
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		// Taken up, the signals leave room again.
		if r := f.mustCall("watcher", map[string]any{}).(map[string]any); fmt.Sprint(r["sent"]) == "0" {
			return fmt.Errorf("no room after the victim took the signals up: %v", r)
		}
		return nil
	})
	if p := f.proc("victim"); p.Restarts() != 0 {
		t.Fatalf("normal exit signals restarted the victim")
	}
}
