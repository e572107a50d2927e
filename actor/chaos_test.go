package actor_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
)

// TestChaos runs 1,000 workers under ten supervisors of every strategy,
// keeps a steady load of messages on them, and crashes random workers for a
// bounded time. Afterwards the tree has its declared shape, every message
// sent has had its turn (none was lost to a crash or a restart), and the
// node leaves no goroutine behind (start's cleanup checks).
func TestChaos(t *testing.T) {
	const groups, perGroup = 10, 100
	strategies := []func() actor.Strategy{
		func() actor.Strategy { return supervisor.NewOneForOne(1_000_000, time.Second) },
		func() actor.Strategy { return supervisor.NewRestForOne(1_000_000, time.Second) },
		func() actor.Strategy { return supervisor.NewOneForAll(1_000_000, time.Second) },
	}
	s, err := isolate.Compile("chaos.js", []byte(`
let seen = 0;
export function receive(msg) {
  seen++;
  if (msg.crash) throw new Error("injected crash after " + seen);
}`))
	if err != nil {
		t.Fatal(err)
	}
	var sups []actor.ChildSpec
	for g := 0; g < groups; g++ {
		sup := actor.ChildSpec{Name: fmt.Sprintf("g%d", g), Strategy: strategies[g%len(strategies)]()}
		for w := 0; w < perGroup; w++ {
			sup.Children = append(sup.Children, actor.ChildSpec{Name: fmt.Sprintf("w%d", w), Script: s})
		}
		sups = append(sups, sup)
	}
	// A generous CPU limit: under the race detector on a loaded machine a
	// wall-clock turn can be slow, and this test is about supervision.
	f := start(t, isolate.Limits{CPU: 5 * time.Second}, sups...)

	type target struct {
		path string
		cap  *capability.Capability
		sent uint64
	}
	var targets []*target
	for g := 0; g < groups; g++ {
		for w := 0; w < perGroup; w++ {
			path := fmt.Sprintf("g%d/w%d", g, w)
			targets = append(targets, &target{path: path, cap: f.cap(path)})
		}
	}
	plain, _ := msgpack.Marshal(map[string]any{"n": 1})
	crash, _ := msgpack.Marshal(map[string]any{"crash": true})
	rng := rand.New(rand.NewPCG(1, 2))
	var crashes int
	deadline := time.Now().Add(2 * time.Second)
	for round := 0; round < 5 || time.Now().Before(deadline); round++ {
		for _, tg := range targets {
			msg := plain
			if rng.IntN(200) == 0 {
				msg, crashes = crash, crashes+1
			}
			if err := sendBytes(f.node, tg.cap, msg); err != nil {
				t.Fatalf("send to %s: %v", tg.path, err)
			}
			tg.sent++
		}
		time.Sleep(time.Millisecond)
	}
	if crashes == 0 {
		t.Fatal("no crash was injected")
	}

	// Every message sent has had its turn, and every worker runs again.
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		for _, tg := range targets {
			p := f.proc(tg.path)
			if p.Handled() != tg.sent || p.MailboxDepth() != 0 || p.Status() != actor.StatusRunning {
				return fmt.Errorf("%s: handled %d of %d sent, %d queued, %s", tg.path, p.Handled(), tg.sent, p.MailboxDepth(), p.Status())
			}
		}
		return nil
	})
	// The tree has its declared shape, and the supervisors never restarted.
	root := f.node.Root()
	if got := len(root.Children()); got != groups {
		t.Fatalf("root has %d children, want %d", got, groups)
	}
	var restarts uint64
	for _, g := range root.Children() {
		if g.Incarnation() != 1 || g.Status() != actor.StatusRunning {
			t.Errorf("%s: incarnation %d, %s", g.Path(), g.Incarnation(), g.Status())
		}
		if got := len(g.Children()); got != perGroup {
			t.Errorf("%s has %d children, want %d", g.Path(), got, perGroup)
		}
		for _, w := range g.Children() {
			restarts += w.Restarts()
		}
	}
	if restarts < uint64(crashes) {
		t.Errorf("%d restarts for %d injected crashes", restarts, crashes)
	}
	t.Logf("%d messages per worker, %d crashes injected, %d restarts", targets[0].sent, crashes, restarts)
}
