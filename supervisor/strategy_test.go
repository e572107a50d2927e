package supervisor_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// newStrategy builds each strategy by name.
var newStrategy = map[string]func(int, time.Duration) actor.Strategy{
	"one_for_one":  func(i int, p time.Duration) actor.Strategy { return supervisor.NewOneForOne(i, p) },
	"one_for_all":  func(i int, p time.Duration) actor.Strategy { return supervisor.NewOneForAll(i, p) },
	"rest_for_one": func(i int, p time.Duration) actor.Strategy { return supervisor.NewRestForOne(i, p) },
}

// --- The strategies in a running node ---

const crashJS = `
export function receive(msg) {
  if (msg === "boom") throw new Error("boom");
  return "ok";
}`

func checkFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, timeout, interval, f)
}

// startTree starts a node whose root runs strategy over workers named names.
func startTree(t *testing.T, strategy actor.Strategy, names ...string) *actor.Node {
	t.Helper()
	script, err := isolate.Compile("crash.js", []byte(crashJS))
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: strategy}
	for _, name := range names {
		root.Children = append(root.Children, actor.ChildSpec{Name: name, Script: script})
	}
	return startNode(t, root)
}

func startNode(t *testing.T, root actor.ChildSpec) *actor.Node {
	t.Helper()
	return testnode.Start(t, actor.Options{}, root)
}

func call(t *testing.T, n *actor.Node, path string, msg any) error {
	t.Helper()
	_, err := testnode.TryCall(t, n, path, msg)
	return err
}

// crash makes the worker at path throw and checks that its call says so.
func crash(t *testing.T, n *actor.Node, path string) {
	t.Helper()
	if err := call(t, n, path, "boom"); !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("call %s boom: %v, want ErrCalleeCrashed", path, err)
	}
}

func incarnations(n *actor.Node, paths []string) []uint64 {
	out := make([]uint64, len(paths))
	for i, path := range paths {
		if p, ok := n.Lookup(path); ok {
			out[i] = p.Incarnation()
		}
	}
	return out
}

// waitIncarnations waits until every process at paths runs incarnation
// want[i] and answers a call.
func waitIncarnations(t *testing.T, n *actor.Node, paths []string, want []uint64) {
	t.Helper()
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := incarnations(n, paths); !slices.Equal(got, want) {
			return fmt.Errorf("incarnations of %v = %v, want %v", paths, got, want)
		}
		for _, path := range paths {
			if err := call(t, n, path, "ping"); err != nil {
				return fmt.Errorf("call %s: %v", path, err)
			}
		}
		return nil
	})
}

func TestStrategy_RestartsInANode(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	tests := []struct {
		strategy string
		crash    string
		want     []uint64 // incarnations of a, b, c, d afterwards
	}{
		{"one_for_one", "b", []uint64{1, 2, 1, 1}},
		{"one_for_all", "b", []uint64{2, 2, 2, 2}},
		{"rest_for_one", "b", []uint64{1, 2, 2, 2}},
		{"rest_for_one", "a", []uint64{2, 2, 2, 2}},
		{"rest_for_one", "d", []uint64{1, 1, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy+"/"+tt.crash, func(t *testing.T) {
			n := startTree(t, newStrategy[tt.strategy](10, time.Minute), names...)
			waitIncarnations(t, n, names, []uint64{1, 1, 1, 1})
			crash(t, n, tt.crash)
			waitIncarnations(t, n, names, tt.want)
			// A second crash of the same child does the same again.
			crash(t, n, tt.crash)
			want2 := make([]uint64, len(tt.want))
			for i, inc := range tt.want {
				want2[i] = 2*inc - 1
			}
			waitIncarnations(t, n, names, want2)
			p, _ := n.Lookup(tt.crash)
			if got, want := len(p.Crashes()), 2; got != want {
				t.Errorf("%s has %d crash reports, want %d", tt.crash, got, want)
			}
		})
	}
}

func TestStrategy_IntensityInANode(t *testing.T) {
	for name, mk := range newStrategy {
		t.Run(name, func(t *testing.T) {
			const intensity = 2
			n := startTree(t, mk(intensity, time.Minute), "a", "b")
			// At the limit: every crash is restarted and the node lives on.
			for i := range intensity {
				crash(t, n, "b")
				checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
					if p, _ := n.Lookup("b"); p.Incarnation() != uint64(i+2) {
						return fmt.Errorf("b runs incarnation %d, want %d", p.Incarnation(), i+2)
					}
					return call(t, n, "b", "ping")
				})
			}
			select {
			case <-n.Failed():
				t.Fatalf("the root failed at %d restarts, its intensity", intensity)
			default:
			}
			// One over: the root gives up and the node stops.
			crash(t, n, "b")
			select {
			case <-n.Failed():
			case <-time.After(10 * time.Second):
				t.Fatal("the root did not fail one restart over its intensity")
			}
			err := n.Wait()
			if !errors.Is(err, actor.ErrRootFailed) || !strings.Contains(err.Error(), supervisor.ReasonMaxIntensity) {
				t.Fatalf("Wait = %v, want ErrRootFailed with %s", err, supervisor.ReasonMaxIntensity)
			}
			if p, _ := n.Lookup("b"); len(p.Crashes()) != intensity+1 {
				t.Errorf("b has %d crash reports, want %d", len(p.Crashes()), intensity+1)
			}
		})
	}
}

func TestStrategy_EscalatesToParent(t *testing.T) {
	script, err := isolate.Compile("crash.js", []byte(crashJS))
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(5, time.Minute), Children: []actor.ChildSpec{
		{Name: "solo", Script: script},
		{Name: "sup", Strategy: supervisor.NewOneForAll(0, time.Minute), Children: []actor.ChildSpec{
			{Name: "x", Script: script},
			{Name: "y", Script: script},
		}},
	}})
	paths := []string{"solo", "sup/x", "sup/y"}
	waitIncarnations(t, n, paths, []uint64{1, 1, 1})
	// sup allows no restart: it fails, and root restarts it with fresh children.
	crash(t, n, "sup/x")
	waitIncarnations(t, n, paths, []uint64{1, 2, 2})
	sup, _ := n.Lookup("sup")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got, want := sup.Incarnation(), uint64(2); got != want {
			return fmt.Errorf("sup runs incarnation %d, want %d", got, want)
		}
		return nil
	})
	var reasons []string
	for _, c := range sup.Crashes() {
		reasons = append(reasons, c.Reason)
	}
	if !slices.Contains(reasons, supervisor.ReasonMaxIntensity) {
		t.Errorf("sup crash reasons = %v, want %s", reasons, supervisor.ReasonMaxIntensity)
	}
	select {
	case <-n.Failed():
		t.Fatal("the root failed; it should have restarted sup")
	default:
	}
}

// TestStrategy_RestartedSupervisorHasFreshIntensity is the regression test
// for a restarted supervisor that kept the restart history of the
// incarnation before it: after escalating once and being restarted by its
// parent, one crash of a child must be restarted, not escalate again.
func TestStrategy_RestartedSupervisorHasFreshIntensity(t *testing.T) {
	script, err := isolate.Compile("crash.js", []byte(crashJS))
	if err != nil {
		t.Fatal(err)
	}
	for name, mk := range newStrategy {
		t.Run(name, func(t *testing.T) {
			n := startNode(t, actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Minute), Children: []actor.ChildSpec{
				{Name: "sup", Strategy: mk(1, time.Minute), Children: []actor.ChildSpec{
					{Name: "x", Script: script},
				}},
			}})
			sup, _ := n.Lookup("sup")
			waitIncarnations(t, n, []string{"sup/x"}, []uint64{1})
			// One restart is within sup's intensity, the second is over it:
			// sup escalates and root restarts it, with a fresh x.
			crash(t, n, "sup/x")
			waitSup(t, n, 1, 2)
			crash(t, n, "sup/x")
			waitSup(t, n, 2, 3)
			if got, want := lastAction(sup), actor.ActionRestart; got != want {
				t.Fatalf("root's action on sup's escalation = %q, want %q", got, want)
			}
			// The new sup has made no restart yet: one crash is restarted.
			crash(t, n, "sup/x")
			waitSup(t, n, 2, 4)
			x, _ := n.Lookup("sup/x")
			if got, want := lastAction(x), actor.ActionRestart; got != want {
				t.Errorf("sup's action on x's crash = %q, want %q", got, want)
			}
			if got, want := len(sup.Crashes()), 1; got != want {
				t.Errorf("sup failed %d times, want %d", got, want)
			}
		})
	}
}

func lastAction(p *actor.Process) string {
	cs := p.Crashes()
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1].Action
}

// waitSup waits until sup runs incarnation supInc and sup/x, answering
// calls, runs xInc.
func waitSup(t *testing.T, n *actor.Node, supInc, xInc uint64) {
	t.Helper()
	waitIncarnations(t, n, []string{"sup/x"}, []uint64{xInc})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if sup, _ := n.Lookup("sup"); sup.Incarnation() != supInc || sup.Status() != actor.StatusRunning {
			return fmt.Errorf("sup runs incarnation %d (%s), want %d (running)", sup.Incarnation(), sup.Status(), supInc)
		}
		return nil
	})
}

// A sibling that has ended for good stays ended when a crash restarts the
// others: one_for_all restarts the children that run, not the stopped one.
func TestStrategy_EndedSiblingStaysEnded(t *testing.T) {
	src := `
export function receive(msg, ctx) {
  if (msg === "stop") { ctx.stop(); return "bye"; }
  if (msg === "boom") throw new Error("boom");
  return "ok";
}`
	script, err := isolate.Compile("stoppable.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForAll(10, time.Minute), Children: []actor.ChildSpec{
		{Name: "a", Script: script},
		{Name: "t", Script: script, Restart: actor.Transient},
		{Name: "b", Script: script},
	}})
	waitIncarnations(t, n, []string{"a", "t", "b"}, []uint64{1, 1, 1})
	if err := call(t, n, "t", "stop"); err != nil {
		t.Fatalf("stop t: %v", err)
	}
	tp, _ := n.Lookup("t")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if s := tp.Status(); s != actor.StatusStopped {
			return fmt.Errorf("t is %s, want stopped", s)
		}
		return nil
	})
	crash(t, n, "a")
	waitIncarnations(t, n, []string{"a", "b"}, []uint64{2, 2})
	if got, want := tp.Incarnation(), uint64(1); got != want || tp.Status() != actor.StatusStopped {
		t.Errorf("t runs incarnation %d (%s) after a sibling's crash, want %d (stopped)", got, tp.Status(), want)
	}
}
