package actor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// An inspect() that inspects its own process (or a pair of processes
// inspecting each other) does not loop for ever: inspect() may not inspect.
// The script's inspect() runs once, its own inspect request is refused, and
// with that refused nothing is left to run it again.
func TestInspect_SelfInspectChainIsBounded(t *testing.T) {
	loop := worker(t, "loop", `
let n = 0, nested = "";
export function receive(msg, ctx) {
  if (msg.go) { ctx.self.inspect().catch(() => {}); return 0; }
  return {n, nested};
}
export function inspect(ctx) {
  n++;
  ctx.self.inspect().then(() => { nested = "answered"; }, (e) => { nested = e.message; });
  return n;
}`)
	f := start(t, isolate.Limits{}, loop)
	f.mustCall("loop", map[string]any{"go": true})
	var got map[string]any
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		got = f.mustCall("loop", map[string]any{}).(map[string]any)
		if got["nested"] == "" {
			return fmt.Errorf("inspect() has not run, or its own inspect has no outcome yet: %v", got)
		}
		return nil
	})
	if n, nested := num(got["n"]), fmt.Sprint(got["nested"]); n != 1 || !strings.Contains(nested, "inside inspect()") {
		t.Fatalf("inspect() ran %d times and its own inspect was %q: want once, refused from inside inspect()", n, nested)
	}
}

func TestHeld_ListsReceivedCapabilities(t *testing.T) {
	holder := worker(t, "holder", `
let kept = [];
export function receive(msg, ctx) { if (msg.cap) kept.push(msg.cap); if (msg.op === "revoke") kept.push(ctx.revocable(ctx.self).cap); }`)
	giver := worker(t, "giver", `
export function receive(msg, ctx) { ctx.env.holder.send({cap: ctx.env.victim.attenuate(["send"])}); return "ok"; }`,
		actor.GrantSpec{Name: "holder", To: "holder", Rights: capability.Send},
		actor.GrantSpec{Name: "victim", To: "victim", Rights: capability.Send | capability.Monitor})
	f := start(t, isolate.Limits{}, worker(t, "victim", victimJS), holder, giver)
	f.mustCall("giver", map[string]any{})
	var got []actor.Held
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		got = f.proc("holder").Held()
		if len(got) < 2 {
			return fmt.Errorf("holder holds %v", got)
		}
		return nil
	})
	last := got[len(got)-1]
	if last.Name != "" || last.Target != "victim" || fmt.Sprint(last.Rights) != "[send]" {
		t.Fatalf("received capability listed as %+v, want send on victim", last)
	}
}

func TestInspect_OutstandingRequestsAreBounded(t *testing.T) {
	target := worker(t, "victim", `
let n = 0;
export async function receive(msg) { n++; return n; }
export function inspect() { return n; }`)
	asker := worker(t, "asker", `
export async function receive(msg, ctx) {
  const asks = [];
  for (let i = 0; i < 100; i++) asks.push(ctx.env.peer.inspect());
  const out = {answered: 0, refused: 0, other: ""};
  for (const r of await Promise.allSettled(asks)) {
    if (r.status === "fulfilled") out.answered++;
    else if (r.reason.name === "MailboxFull") out.refused++;
    else out.other = r.reason.name + ": " + r.reason.message;
  }
  return out;
}`, peer(capability.Inspect))
	f := start(t, isolate.Limits{CPU: 2 * time.Second}, target, asker) // roomy under the race detector
	got := f.mustCall("asker", map[string]any{}).(map[string]any)
	if fmt.Sprint(got["answered"]) != "16" || fmt.Sprint(got["refused"]) != "84" || got["other"] != "" {
		t.Fatalf("a flood of inspect requests: %v, want 16 answered and the rest refused with MailboxFull", got)
	}
	if p := f.proc("victim"); p.Restarts() != 0 {
		t.Fatalf("the victim restarted")
	}
}
