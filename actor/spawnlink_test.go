package actor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/supervisor"
)

// spawnerJS spawns three workers in init and crashes on request: the
// crash-looping spawner of the issue.
const spawnerJS = `
const kids = [];
export async function init(args, ctx) {
  for (let k = 0; k < 3; k++) kids.push(await ctx.env.pool.spawn({n: k}, OPTS));
}
export function receive(msg, ctx) {
  if (msg.type === "boom") throw new Error("boom");
  if (msg.type === "count") return kids.length;
}`

const pooledJS = `export function receive(msg) { return "ok"; }`

// spawnerNode starts a spawner and a pool of at most 8 transient workers
// under a root that allows 5 restarts a minute.
func spawnerNode(t *testing.T, opts string) (*actor.Node, *capability.Capability) {
	t.Helper()
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := worker(t, "w", pooledJS)
	tmpl.Restart = actor.Transient
	spawner := worker(t, "spawner", strings.Replace(spawnerJS, "OPTS", opts, 1),
		actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn})
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Minute), Children: []actor.ChildSpec{
		{Name: "pool", Strategy: supervisor.NewOneForOne(100, time.Minute), Template: &tmpl, MaxChildren: 8},
		spawner,
	}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(context.Background()) })
	c, err := n.Capability("spawner", capability.All)
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

func TestSpawnLink_UnlinkedChildrenOfACrashLoopTakeTheNodeDown(t *testing.T) {
	n, c := spawnerNode(t, "{}")
	sp, _ := n.Lookup("spawner")
	// Two crashes leave six children behind; the third incarnation's init
	// cannot spawn its three under the limit of eight, and every restart
	// after it fails the same way until the root gives up.
	for k := 0; k < 3; k++ {
		inc := sp.Incarnation()
		_ = n.Send(context.Background(), c, map[string]any{"type": "boom"})
		checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
			select {
			case <-n.Failed():
				return nil
			default:
			}
			if sp.Incarnation() == inc {
				return fmt.Errorf("spawner still at incarnation %d", inc)
			}
			return nil
		})
	}
	select {
	case <-n.Failed():
	case <-time.After(2 * time.Minute):
		t.Fatal("the node survived a crash-looping spawner without links: the test no longer reproduces the failure")
	}
	if err := n.Wait(); err == nil || !strings.Contains(err.Error(), "too many children") {
		t.Fatalf("the node failed with %v, want the children limit", err)
	}
}

func TestSpawnLink_ChildrenEndWithTheirOwner(t *testing.T) {
	n, c := spawnerNode(t, "{link: true}")
	pool, _ := n.Lookup("pool")
	sp, _ := n.Lookup("spawner")
	for k := 0; k < 12; k++ {
		// Each incarnation owns three children, and only those.
		checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
			var got int
			if err := n.Call(context.Background(), c, map[string]any{"type": "count"}, &got); err != nil {
				return err
			}
			if got != 3 || len(pool.Children()) != 3 {
				return fmt.Errorf("spawner holds %d, the pool has %d children; want 3 and 3", got, len(pool.Children()))
			}
			return nil
		})
		for _, ch := range pool.Children() {
			if ch.RestartType() != actor.Temporary {
				t.Fatalf("%s spawned with a link is %s, want temporary", ch.Path(), ch.RestartType())
			}
		}
		inc := sp.Incarnation()
		if err := n.Send(context.Background(), c, map[string]any{"type": "boom"}); err != nil {
			t.Fatal(err)
		}
		checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
			if sp.Incarnation() == inc {
				return fmt.Errorf("spawner still at incarnation %d", inc)
			}
			return nil
		})
	}
	select {
	case <-n.Failed():
		t.Fatalf("the node failed: %v", n.Wait())
	default:
	}
}

func TestSpawnLink_ChildrenStopInOrderWithTheirOwner(t *testing.T) {
	n, c := spawnerNode(t, "{link: true}")
	var got int
	if err := n.Call(context.Background(), c, map[string]any{"type": "count"}, &got); err != nil || got != 3 {
		t.Fatalf("count: %d, %v", got, err)
	}
	pool, _ := n.Lookup("pool")
	kids := pool.Children()
	sp, _ := n.Lookup("spawner")
	if err := n.Stop(sp.ID()); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := len(pool.Children()); k != 0 {
			return fmt.Errorf("the pool still has %d children", k)
		}
		return nil
	})
	for _, k := range kids {
		if cr := k.Crashes(); len(cr) != 0 {
			t.Errorf("%s crashed (%s) instead of stopping in order with its owner", k.Path(), cr[0].Reason)
		}
	}
}
