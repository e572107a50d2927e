package actor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// slotWatcherJS is the watchdog of docs/supervision.md: one slot monitor
// in init, down and up notifications for every restart.
const slotWatcherJS = `
const notes = [];
let ref;
export function init(args, ctx) { ref = ctx.env.worker.monitor({slot: true}); }
export function receive(msg, ctx) {
  if (ctx.isNotification(msg)) {
    notes.push({type: msg.type, reason: msg.reason, slot: msg.slot, final: msg.final, mine: msg.ref === ref});
    return;
  }
  if (msg.op === "notes") return notes;
  if (msg.op === "demonitor") return ctx.env.worker.demonitor(ref);
  if (msg.op === "spawn") return ctx.env.pool.spawn({}).then((w) => { ref = w.monitor({slot: true}); w.send({op: "stop", reason: "normal"}); return "ok"; });
}`

func TestSlotMonitor_DownThenUpForEveryRestart(t *testing.T) {
	f := start(t, isolate.Limits{},
		worker(t, "worker", victimJS),
		worker(t, "watchdog", slotWatcherJS, actor.GrantSpec{Name: "worker", To: "worker", Rights: capability.Monitor}))
	w, _ := f.node.Lookup("worker")
	for k := 1; k <= 3; k++ {
		if err := f.node.Send(context.Background(), f.cap("worker"), map[string]any{"op": "crash"}); err != nil {
			t.Fatal(err)
		}
		checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if w.Incarnation() != uint64(k+1) || w.Status() != actor.StatusRunning {
				return fmt.Errorf("worker at incarnation %d, %s", w.Incarnation(), w.Status())
			}
			return nil
		})
		notes := f.waitNotes("watchdog", 2*k)
		down, up := notes[2*k-2], notes[2*k-1]
		if down["type"] != "down" || down["reason"] != "error" || down["slot"] != true || down["final"] != false || down["mine"] != true {
			t.Fatalf("restart %d: first note %v, want a down of the slot with reason error", k, down)
		}
		if up["type"] != "up" || up["slot"] != true || up["mine"] != true {
			t.Fatalf("restart %d: second note %v, want an up of the slot", k, up)
		}
	}
	// Nothing spins: exactly two notes a restart.
	if got := len(f.notes("watchdog")); got != 6 {
		t.Fatalf("%d notes after 3 restarts, want 6: %v", got, f.notes("watchdog"))
	}
	if got := f.mustCall("watchdog", map[string]any{"op": "demonitor"}); got != true {
		t.Fatalf("demonitor of a slot monitor: %v, want true", got)
	}
	if err := f.node.Send(context.Background(), f.cap("worker"), map[string]any{"op": "crash"}); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if w.Incarnation() != 5 || w.Status() != actor.StatusRunning {
			return fmt.Errorf("worker at incarnation %d, %s", w.Incarnation(), w.Status())
		}
		return nil
	})
	if got := len(f.notes("watchdog")); got != 6 {
		t.Fatalf("%d notes after demonitor and a restart, want still 6", got)
	}
}

func TestSlotMonitor_FinalDownWhenADynamicChildStops(t *testing.T) {
	tmpl := worker(t, "w", victimJS)
	tmpl.Restart = actor.Transient
	f := start(t, isolate.Limits{},
		actor.ChildSpec{Name: "pool", Strategy: oneForOne().Strategy, Template: &tmpl},
		worker(t, "worker", victimJS),
		worker(t, "watchdog", slotWatcherJS,
			actor.GrantSpec{Name: "worker", To: "worker", Rights: capability.Monitor},
			actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn}))
	if got := f.mustCall("watchdog", map[string]any{"op": "spawn"}); got != "ok" {
		t.Fatalf("spawn: %v", got)
	}
	notes := f.waitNotes("watchdog", 2)
	if notes[0]["type"] != "down" || notes[0]["reason"] != "normal" || notes[0]["final"] != false ||
		notes[1]["type"] != "down" || notes[1]["final"] != true || notes[1]["mine"] != true {
		t.Fatalf("notes %v, want the child's normal down, then the final down of its slot", notes)
	}
}
