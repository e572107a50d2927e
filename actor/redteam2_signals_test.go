package actor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
)

// Hostile-tenant attacks on the bookkeeping of monitors.

// redteam2WatcherJS monitors ctx.env.victim msg.n times (normal or slot
// monitors) and answers how many it got and the first refusal; "downs"
// answers the down notifications it has received.
const redteam2WatcherJS = `
let downs = 0;
export function receive(msg, ctx) {
  if (msg && msg.type === "down") { downs++; return; }
  if (msg.op === "downs") return downs;
  let ok = 0, err = "";
  for (let i = 0; i < msg.n; i++) {
    try { ctx.env.victim.monitor(msg.slot ? {slot: true} : undefined); ok++; }
    catch (e) { err = e.name + ": " + e.message; break; }
  }
  return {ok, err};
}`

// redteam2VictimJS crashes when told to.
const redteam2VictimJS = `
export function receive(msg, ctx) { if (msg === "die") throw new Error("told to"); return "ok"; }`

type redteam2Monitors struct {
	OK  int    `msgpack:"ok"`
	Err string `msgpack:"err"`
}

// TestRedteam2_OneWatcherCannotFillAProcesssMonitors: a tenant with the
// monitor right monitors its victim as often as its own limit allows
// (10,000 live monitors). A second watcher must still be able to monitor
// the victim and must receive its down when it crashes; the first is
// refused past its share with "too many monitors". Before the fix the
// first filled the victim's whole table of 10,000 and every other
// watcher was refused. The same holds for slot monitors.
func TestRedteam2_OneWatcherCannotFillAProcesssMonitors(t *testing.T) {
	for _, slot := range []bool{false, true} {
		name := "incarnation"
		if slot {
			name = "slot"
		}
		t.Run(name, func(t *testing.T) {
			grant := []actor.GrantSpec{{Name: "victim", To: "victim", Rights: capability.Monitor}}
			// The CPU limit is not under test: room for a thousand
			// monitors in one turn under the race detector.
			hog, watchdog := worker(t, "hog", redteam2WatcherJS, grant...), worker(t, "watchdog", redteam2WatcherJS, grant...)
			hog.Limits, watchdog.Limits = isolate.Limits{CPU: 20 * time.Second}, isolate.Limits{CPU: 20 * time.Second}
			n := testnode.Start(t, actor.Options{}, storageRoot(worker(t, "victim", redteam2VictimJS), hog, watchdog))
			var got, dog redteam2Monitors
			testnode.Call(t, n, "hog", map[string]any{"n": 10_000, "slot": slot}, &got)
			testnode.Call(t, n, "watchdog", map[string]any{"n": 1, "slot": slot}, &dog)
			t.Logf("hog: %d monitors, then %q; watchdog: %d, %q", got.OK, got.Err, dog.OK, dog.Err)
			if dog.OK != 1 {
				t.Fatalf("the watchdog could not monitor the victim after the hog took %d monitors: %s", got.OK, dog.Err)
			}
			if got.OK > actor.MaxMonitorsPerWatcher || !strings.Contains(got.Err, "too many monitors") {
				t.Fatalf("the hog got %d monitors on one process (then %q), want at most %d and a refusal",
					got.OK, got.Err, actor.MaxMonitorsPerWatcher)
			}
			testnode.Send(t, n, "victim", "die")
			checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
				var downs int
				testnode.Call(t, n, "watchdog", map[string]any{"op": "downs"}, &downs)
				if downs != 1 {
					return fmt.Errorf("the watchdog has %d downs, want 1", downs)
				}
				return nil
			})
		})
	}
}
