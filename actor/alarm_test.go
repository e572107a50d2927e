package actor_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/storage"
)

// alarmJS counts its alarm runs in storage and tells its peer about each;
// with msg.failFirst stored, the first run of an alarm throws.
const alarmJS = `
export function receive(msg, ctx) {
  if (msg === "arm") { ctx.storage.setAlarm(Date.now()); return 1; }
  if (msg === "armLater") { ctx.storage.setAlarm(new Date(Date.now() + 3600e3)); return 1; }
  if (msg === "failFirst") { ctx.storage.put("failFirst", true); return 1; }
  if (msg === "state") return [ctx.storage.get("runs") ?? 0, ctx.storage.getAlarm() === null ? 0 : 1];
}
export function alarm(info, ctx) {
  if (ctx.storage.get("failFirst") && info.retryCount === 0) throw new Error("first run fails");
  ctx.storage.put("runs", (ctx.storage.get("runs") ?? 0) + 1);
  ctx.env.peer.send("alarm retry=" + info.retryCount);
}`

func alarmSpec(t *testing.T) actor.ChildSpec {
	c := worker(t, "alarmer", alarmJS, actor.GrantSpec{Name: "peer", To: "rec", Rights: capability.Send})
	c.Storage = true
	return c
}

// waitAlarmRuns waits until the alarmer has run its alarm n times and has
// no alarm left, and returns what the peer saw.
func waitAlarmRuns(t *testing.T, n *actor.Node, runs int) []string {
	t.Helper()
	var seen []string
	testkit.CheckFor(t, 20*time.Second, 5*time.Millisecond, func() error {
		var st []int
		testnode.Call(t, n, "alarmer", "state", &st)
		if !reflect.DeepEqual(st, []int{runs, 0}) {
			return fmt.Errorf("runs and alarm = %v, want [%d 0]", st, runs)
		}
		seen = nil
		testnode.Call(t, n, "rec", "seen", &seen)
		if len(seen) < runs {
			return fmt.Errorf("the peer saw %q", seen)
		}
		return nil
	})
	return seen
}

func TestStorage_AlarmRunsOnceAndIsDeleted(t *testing.T) {
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, storageRoot(worker(t, "rec", storedRecorderJS), alarmSpec(t)))
	callInt(t, n, "alarmer", "arm")
	if seen := waitAlarmRuns(t, n, 1); !reflect.DeepEqual(seen, []string{"alarm retry=0"}) {
		t.Fatalf("the peer saw %q", seen)
	}
}

// TestStorage_AlarmRetriedAfterThrow: a throwing alarm crashes the
// incarnation and runs again in the next one with retryCount 1.
func TestStorage_AlarmRetriedAfterThrow(t *testing.T) {
	n := testnode.New(t, actor.Options{Storage: storage.NewMemory()})
	var mu sync.Mutex
	crashes := 0
	n.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok && c.Crash.Path == "alarmer" {
			mu.Lock()
			crashes++
			mu.Unlock()
		}
	})
	if err := n.Start(storageRoot(worker(t, "rec", storedRecorderJS), alarmSpec(t))); err != nil {
		t.Fatal(err)
	}
	callInt(t, n, "alarmer", "failFirst")
	callInt(t, n, "alarmer", "arm")
	if seen := waitAlarmRuns(t, n, 1); !reflect.DeepEqual(seen, []string{"alarm retry=1"}) {
		t.Fatalf("the peer saw %q", seen)
	}
	mu.Lock()
	defer mu.Unlock()
	if crashes != 1 {
		t.Fatalf("%d crashes, want 1 (the failed first run)", crashes)
	}
}

// TestStorage_AlarmDueAfterNodeRestart: an alarm is stored with the data;
// one that came due while the node was down runs when it starts again.
func TestStorage_AlarmDueAfterNodeRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, actor.Options{Storage: b}, storageRoot(worker(t, "rec", storedRecorderJS), alarmSpec(t)))
	callInt(t, n, "alarmer", "armLater")
	ctx, cancel := context.WithTimeout(context.Background(), testnode.ShutdownTimeout)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	at, ok, err := b.GetAlarm("alarmer")
	if err != nil || !ok || time.Until(at) < 30*time.Minute {
		t.Fatalf("stored alarm = %v, %v, %v; want one an hour ahead", at, ok, err)
	}
	// The node was down past the alarm's time.
	if err := b.SetAlarm("alarmer", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	n2 := testnode.Start(t, actor.Options{Storage: b}, storageRoot(worker(t, "rec", storedRecorderJS), alarmSpec(t)))
	if seen := waitAlarmRuns(t, n2, 1); !reflect.DeepEqual(seen, []string{"alarm retry=0"}) {
		t.Fatalf("the peer saw %q", seen)
	}
	if err := n2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
