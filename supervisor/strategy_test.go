package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
)

// newStrategy builds each strategy by name.
var newStrategy = map[string]func(int, time.Duration) actor.Strategy{
	"one_for_one":  func(i int, p time.Duration) actor.Strategy { return supervisor.NewOneForOne(i, p) },
	"one_for_all":  func(i int, p time.Duration) actor.Strategy { return supervisor.NewOneForAll(i, p) },
	"rest_for_one": func(i int, p time.Duration) actor.Strategy { return supervisor.NewRestForOne(i, p) },
}

// procs returns n distinct process values: OnCrash only compares them.
func procs(n int) []*actor.Process {
	out := make([]*actor.Process, n)
	for i := range out {
		out[i] = &actor.Process{}
	}
	return out
}

func indexes(all, sub []*actor.Process) []int {
	out := []int{}
	for _, p := range sub {
		out = append(out, slices.Index(all, p))
	}
	return out
}

func TestStrategy_String(t *testing.T) {
	for name, mk := range newStrategy {
		if got, want := mk(1, time.Second).String(), name; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestStrategy_OnCrash(t *testing.T) {
	tests := []struct {
		strategy string
		crashed  int
		want     []int // children restarted, in start order
	}{
		{"one_for_one", 0, []int{0}},
		{"one_for_one", 1, []int{1}},
		{"one_for_one", 3, []int{3}},
		{"one_for_all", 0, []int{0, 1, 2, 3}},
		{"one_for_all", 1, []int{0, 1, 2, 3}},
		{"one_for_all", 3, []int{0, 1, 2, 3}},
		{"rest_for_one", 0, []int{0, 1, 2, 3}},
		{"rest_for_one", 1, []int{1, 2, 3}},
		{"rest_for_one", 3, []int{3}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/crash_%d", tt.strategy, tt.crashed), func(t *testing.T) {
			children := procs(4)
			d := newStrategy[tt.strategy](3, time.Second).OnCrash(children, children[tt.crashed], time.Now())
			if d.Escalate {
				t.Fatalf("escalated (%s) on the first crash", d.Reason)
			}
			if got, want := indexes(children, d.Restart), tt.want; !slices.Equal(got, want) {
				t.Errorf("restarts children %v, want %v", got, want)
			}
		})
	}
}

func TestStrategy_OnCrashUnknownChild(t *testing.T) {
	children, stranger := procs(3), &actor.Process{}
	d := supervisor.NewRestForOne(3, time.Second).OnCrash(children, stranger, time.Now())
	if d.Escalate || len(d.Restart) != 1 || d.Restart[0] != stranger {
		t.Errorf("rest_for_one for a child not in the list = %+v, want it alone restarted", d)
	}
}

func TestStrategy_Intensity(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name      string
		intensity int
		period    time.Duration
		crashes   []time.Time
		escalate  int // index of the first crash that escalates, -1 for none
	}{
		{"at the limit", 3, time.Second, at(0, 100, 200), -1},
		{"one over the limit", 3, time.Second, at(0, 100, 200, 300), 3},
		{"one over, all at once", 2, time.Second, at(0, 0, 0), 2},
		{"old restarts leave the window", 2, time.Second, at(0, 500, 1000, 1500, 2000), -1},
		{"a restart exactly one period old has left", 1, time.Second, at(0, 1000, 2000), -1},
		{"just inside the period still counts", 1, time.Second, at(0, 999), 1},
		{"intensity 0 allows no restart", 0, time.Second, at(0), 0},
		{"negative intensity takes the default", -1, time.Second, at(0, 1, 2, 3), supervisor.DefaultIntensity},
		{"zero period takes the default", 1, 0, at(0, int(supervisor.DefaultPeriod/time.Millisecond)-1), 1},
		{"zero period, default period passed", 1, 0, at(0, int(supervisor.DefaultPeriod/time.Millisecond)), -1},
	}
	for _, tt := range tests {
		for name, mk := range newStrategy {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				s := mk(tt.intensity, tt.period)
				children := procs(3)
				for i, now := range tt.crashes {
					d := s.OnCrash(children, children[1], now)
					if got, want := d.Escalate, i == tt.escalate; got != want {
						t.Fatalf("crash %d at +%v: escalate = %v, want %v", i, now.Sub(t0), got, want)
					}
					if d.Escalate {
						if got, want := d.Reason, supervisor.ReasonMaxIntensity; got != want {
							t.Errorf("reason = %q, want %q", got, want)
						}
						if len(d.Restart) != 0 {
							t.Errorf("escalation also restarts %d children", len(d.Restart))
						}
						return
					}
					if len(d.Restart) == 0 {
						t.Fatalf("crash %d: neither restarts nor escalates", i)
					}
				}
			})
		}
	}
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
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n
}

func call(t *testing.T, n *actor.Node, path string, msg any) error {
	t.Helper()
	c, err := n.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	b, err := msgpack.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = n.CallEnvelope(ctx, c, mailbox.NewEnvelope(b, nil))
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
