package actor_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

// A process whose stop panics in Go code — a storage backend that panics in
// the commit after terminate, a Supervision whose Terminate panics — still
// ends, and the node's shutdown does not wait for it. Before, the panic cut
// protoactor's stop short: the process never finished stopping, never ran
// its Stopped nor told its supervisor, and the failure escalated in its
// place had the root give up (intensity 0) or restart it mid-shutdown, so
// Shutdown waited out the root's hour.

// shutdownGuard bounds a shutdown that would otherwise hang; the tests
// assert what Shutdown returned, never how long it took.
const shutdownGuard = 60 * time.Second

// commitPanics is a storage backend with a bug: while armed, a commit
// that puts key (any commit, if key is empty) panics. It counts the
// panics.
type commitPanics struct {
	storage.Backend
	key    string
	armed  atomic.Bool
	panics atomic.Int32
}

func (b *commitPanics) Commit(slot string, batch *storage.Batch) error {
	if b.armed.Load() && (b.key == "" || slices.ContainsFunc(batch.Puts, func(kv storage.KV) bool { return kv.Key == b.key })) {
		b.panics.Add(1)
		panic("commitPanics: backend bug")
	}
	return b.Backend.Commit(slot, batch)
}

// terminatePanics is a strategy whose Supervision stops its children and
// then panics.
type terminatePanics struct{ actor.Strategy }

func (s terminatePanics) NewSupervision() actor.Supervision {
	return panicOnTerminate{s.Strategy.NewSupervision()}
}

type panicOnTerminate struct{ actor.Supervision }

func (s panicOnTerminate) Terminate(sup *actor.Supervisor) {
	s.Supervision.Terminate(sup)
	panic(errors.New("terminatePanics: strategy bug"))
}

// shutdownAfterPanic starts root, arms the panic on the running node,
// shuts the node down and checks that the shutdown ended with every
// process stopped in its first incarnation and the root not given up,
// that the node's only crash report is the panic's (panicText), for path,
// naming step, with action stop, and that a worker at path still
// reported that it stopped.
func shutdownAfterPanic(t *testing.T, opts actor.Options, root actor.ChildSpec, arm func(*actor.Node), path, step, panicText string) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	n, err := actor.NewNode(opts)
	if err != nil {
		t.Fatal(err)
	}
	events := newLifeEvents()
	sub := n.Subscribe(events.record)
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	p, ok := n.Lookup(path)
	if !ok {
		t.Fatalf("no process at %q", path)
	}
	arm(n)
	endNode(t, n, nil)
	cs := p.Crashes()
	if len(cs) != 1 || cs[0].Action != actor.ActionStop || cs[0].Restarted ||
		!strings.Contains(cs[0].Err.Error(), panicText) || !strings.Contains(cs[0].Err.Error(), step) {
		t.Errorf("%q crash reports = %v, want one of the panic (%q) in %s, with action stop", path, cs, panicText, step)
	}
	<-sub.Done()
	if got := events.crashed(); len(got) != 1 || got[0].Path != path {
		t.Errorf("Crashed events = %v, want the panic's, for %q", got, path)
	}
	if _, ok := events.stoppedFor(path); p.Kind() == actor.KindWorker && !ok {
		t.Errorf("no Stopped event for %q", path)
	}
	testkit.NoLeaks(t, before)
}

func TestShutdown_WorkerTerminateCommitPanics(t *testing.T) {
	for _, intensity := range []int{0, 3} {
		t.Run(map[int]string{0: "intensity 0", 3: "intensity 3"}[intensity], func(t *testing.T) {
			b := &commitPanics{Backend: storage.NewMemory()}
			w := worker(t, "w", `
export function receive() { return "ok"; }
export function terminate(reason, ctx) { ctx.storage.put("stopped", reason); }`)
			w.Storage = true
			root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(intensity, time.Minute),
				Children: []actor.ChildSpec{worker(t, "a", readyJS), w, worker(t, "z", readyJS)}}
			shutdownAfterPanic(t, actor.Options{Storage: b}, root, func(*actor.Node) { b.armed.Store(true) }, "w", "terminate while stopping", "backend bug")
			if got := b.panics.Load(); got != 1 {
				t.Errorf("the backend panicked %d times, want once: on w's terminate commit", got)
			}
		})
	}
}

func TestShutdown_SupervisorTerminatePanics(t *testing.T) {
	t.Run("nested", func(t *testing.T) {
		s := actor.ChildSpec{Name: "s", Strategy: terminatePanics{supervisor.NewOneForOne(0, time.Minute)},
			Children: []actor.ChildSpec{worker(t, "w", readyJS)}}
		root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
			Children: []actor.ChildSpec{worker(t, "a", readyJS), s}}
		shutdownAfterPanic(t, actor.Options{}, root, func(*actor.Node) {}, "s", "the Supervision's Terminate while stopping", "strategy bug")
	})
	t.Run("root", func(t *testing.T) {
		root := actor.ChildSpec{Name: "root", Strategy: terminatePanics{supervisor.NewOneForOne(0, time.Minute)},
			Children: []actor.ChildSpec{worker(t, "a", readyJS)}}
		shutdownAfterPanic(t, actor.Options{}, root, func(*actor.Node) {}, "", "the Supervision's Terminate while stopping", "strategy bug")
	})
}

// A child that crashes in a turn while the root stops its siblings is
// reported and stopped, as OTP's supervisor does while it shuts down: it
// is not restarted and costs no intensity, so under intensity 0 the root
// does not give up, and Wait reports no failure.
func TestShutdown_CrashDuringShutdownIsOnlyReported(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var n *actor.Node
	n, err := actor.NewNode(actor.Options{Receivers: crashWhileStopping(t, &n, "a", "a crashes while its siblings stop")})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
		Children: []actor.ChildSpec{{Name: "a", Go: "a"}, {Name: "b", Go: "b"}}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown = %v; the node is still waiting for the root that gave up", err)
	}
	if err := n.Wait(); err != nil {
		t.Errorf("wait = %v; a crash during the shutdown is reported, not a reason to give up", err)
	}
	for _, q := range n.Processes() {
		if s := q.Status(); s != actor.StatusStopped || q.Incarnation() != 1 {
			t.Errorf("%q is %v in incarnation %d after the shutdown, want stopped in 1", q.Path(), s, q.Incarnation())
		}
	}
	ap, _ := n.Lookup("a")
	if cs := ap.Crashes(); len(cs) != 1 || cs[0].Action != actor.ActionStop || cs[0].Restarted || !strings.Contains(cs[0].Err.Error(), "a crashes") {
		t.Errorf("a's crash reports = %v, want its crash, with action stop", cs)
	}
	testkit.NoLeaks(t, before)
}
