package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

// A panic in Go code on a process's restart path — a storage backend's in
// the commit after the terminate a restart runs, the end of the old
// incarnation telling its monitors — is reported as a crash of the old
// incarnation with action restart, and the restart goes on. Before, it
// cut protoactor's restart short: the old incarnation's failure was
// escalated in its place, so the supervisor decided on the process a
// second time (a restart that cost intensity, or giving up), or never
// heard of it and the process stayed down. A panic in a process's Stopped
// handling is reported with action stop, and the process still tells its
// supervisor it has ended, so the stop above it finishes.

// lifeEvents keeps a node's events and lets a test wait for one.
type lifeEvents struct {
	mu      sync.Mutex
	events  []actor.Event
	changed chan struct{} // closed and replaced at each event
}

func newLifeEvents() *lifeEvents { return &lifeEvents{changed: make(chan struct{})} }

func (l *lifeEvents) record(e actor.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	close(l.changed)
	l.changed = make(chan struct{})
}

// await waits for an event that match accepts; the deadline only guards
// against a hang.
func (l *lifeEvents) await(t *testing.T, what string, match func(actor.Event) bool) {
	t.Helper()
	guard := time.NewTimer(shutdownGuard)
	defer guard.Stop()
	for {
		l.mu.Lock()
		for _, e := range l.events {
			if match(e) {
				l.mu.Unlock()
				return
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-guard.C:
			t.Fatalf("no %s after %v: the process was not restarted", what, shutdownGuard)
		}
	}
}

// crashed returns the Crashed events, in order.
func (l *lifeEvents) crashed() []*actor.Crash {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*actor.Crash
	for _, e := range l.events {
		if c, ok := e.(actor.Crashed); ok {
			out = append(out, c.Crash)
		}
	}
	return out
}

// stoppedFor returns the reason of path's Stopped event, if there is one.
func (l *lifeEvents) stoppedFor(path string) (reason string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if s, ok := e.(actor.Stopped); ok && s.Path == path {
			return s.Reason, true
		}
	}
	return "", false
}

// crashedFor returns the Crashed events of path.
func (l *lifeEvents) crashedFor(path string) []*actor.Crash {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*actor.Crash
	for _, e := range l.events {
		if c, ok := e.(actor.Crashed); ok && c.Crash.Path == path {
			out = append(out, c.Crash)
		}
	}
	return out
}

func startedAgain(path string) func(actor.Event) bool {
	return func(e actor.Event) bool {
		s, ok := e.(actor.Started)
		return ok && s.Path == path && s.Incarnation == 2
	}
}

// restartCrash checks that p's only crash report is the panic's, naming
// step, for incarnation 1, with action restart.
func restartCrash(t *testing.T, p *actor.Process, step, panicText string) {
	t.Helper()
	cs := p.Crashes()
	if len(cs) != 1 {
		t.Fatalf("%q has %d crash reports %v, want the panic's", p.Path(), len(cs), cs)
	}
	c := cs[0]
	if c.Incarnation != 1 || c.Action != actor.ActionRestart || !c.Restarted ||
		!strings.Contains(c.Err.Error(), panicText) || !strings.Contains(c.Err.Error(), step) {
		t.Errorf("%q crash report = incarnation %d, action %q, restarted %v, %v; want incarnation 1 restarted for the panic (%q) in %s",
			p.Path(), c.Incarnation, c.Action, c.Restarted, c.Err, panicText, step)
	}
	if c.Stack == "" {
		t.Errorf("%q crash report has no stack", p.Path())
	}
}

// endNode shuts n down and checks that the root did not give up and that
// every process ended stopped in incarnation inc[path] (1 if not given).
func endNode(t *testing.T, n *actor.Node, inc map[string]uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown = %v", err)
	}
	if err := n.Wait(); err != nil {
		t.Errorf("wait = %v; a panic while restarting or stopping is reported, not a reason to give up", err)
	}
	for _, q := range n.Processes() {
		want := inc[q.Path()]
		if want == 0 {
			want = 1
		}
		if q.Status() != actor.StatusStopped || q.Incarnation() != want {
			t.Errorf("%q ended %v in incarnation %d, want stopped in %d", q.Path(), q.Status(), q.Incarnation(), want)
		}
	}
}

func sendTo(t *testing.T, n *actor.Node, path string, v any) {
	t.Helper()
	c, err := n.Capability(path, capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(context.Background(), c, v); err != nil {
		t.Fatalf("send to %q: %v", path, err)
	}
}

// A worker whose terminate, run because it is restarted, writes storage
// that the backend panics on is restarted all the same: its new
// incarnation answers, the panic is its old incarnation's crash report,
// and it costs the supervisor no restart. The intensities are the least
// that allow the restart asked for, so a second decision on w would have
// the root give up.
func TestRestart_WorkerTerminateCommitPanics(t *testing.T) {
	const terminateJS = `
export function receive() { return "ok"; }
export function terminate(reason, ctx) { ctx.storage.put("poison", reason); }`
	for _, tc := range []struct {
		name string
		root func(w actor.ChildSpec) actor.ChildSpec
		// restart has w restarted and returns the processes that are
		// restarted with it.
		restart func(t *testing.T, n *actor.Node, w *actor.Process) []string
	}{{
		name: "beside a crashed sibling",
		root: func(w actor.ChildSpec) actor.ChildSpec {
			return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForAll(1, time.Minute),
				Children: []actor.ChildSpec{worker(t, "a", victimJS), w}}
		},
		restart: func(t *testing.T, n *actor.Node, _ *actor.Process) []string {
			sendTo(t, n, "a", map[string]any{"op": "crash"})
			return []string{"a"}
		},
	}, {
		name: "by the operator",
		root: func(w actor.ChildSpec) actor.ChildSpec {
			return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
				Children: []actor.ChildSpec{w}}
		},
		restart: func(t *testing.T, n *actor.Node, w *actor.Process) []string {
			if err := n.Restart(w.ID()); err != nil {
				t.Fatal(err)
			}
			return nil
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			b := &commitPanics{Backend: storage.NewMemory(), key: "poison"}
			n, err := actor.NewNode(actor.Options{Storage: b})
			if err != nil {
				t.Fatal(err)
			}
			events := newLifeEvents()
			sub := n.Subscribe(events.record)
			spec := worker(t, "w", terminateJS)
			spec.Storage = true
			if err := n.Start(tc.root(spec)); err != nil {
				t.Fatal(err)
			}
			w, _ := n.Lookup("w")
			b.armed.Store(true)
			others := tc.restart(t, n, w)
			events.await(t, "second incarnation of w", startedAgain("w"))
			for _, o := range others {
				events.await(t, "second incarnation of "+o, startedAgain(o))
			}
			if got := b.panics.Load(); got != 1 {
				t.Fatalf("the backend panicked %d times, want once: on w's terminate commit", got)
			}
			b.armed.Store(false) // the new incarnation's terminate at the shutdown commits too
			ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
			defer cancel()
			wc, _ := n.Capability("w", capability.All)
			if out, err := callBytes(ctx, n, wc, []byte{0xc0}); err != nil || string(out) != "\xa2ok" {
				t.Errorf("w's new incarnation answered %q, %v; want \"ok\"", out, err)
			}
			restartCrash(t, w, "terminate", "backend bug")
			if got := events.crashedFor("w"); len(got) != 1 {
				t.Errorf("Crashed events for w = %v, want the panic's", got)
			}
			inc := map[string]uint64{"w": 2}
			for _, o := range others {
				inc[o] = 2
			}
			endNode(t, n, inc)
			<-sub.Done()
			testkit.NoLeaks(t, before)
		})
	}
}

// The end of an incarnation tells its monitors, among them those held for
// other nodes, whose notify is Go code. A panic there while a script
// worker, a Go worker or a supervisor is restarted is the old
// incarnation's crash report, the other monitors are still told, and the
// restart goes on. The root's
// intensity is 0: a second decision on the process would have it give up.
func TestRestart_EndOfIncarnationPanics(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		spec       func(t *testing.T) actor.ChildSpec
		started    string // a worker whose second incarnation shows the restart done
		step       string
	}{
		{"script worker", "w", func(t *testing.T) actor.ChildSpec { return worker(t, "w", readyJS) }, "w", "closing"},
		{"Go worker", "g", func(*testing.T) actor.ChildSpec { return actor.ChildSpec{Name: "g", Go: "idle"} }, "g", "closing"},
		{"supervisor", "s", func(t *testing.T) actor.ChildSpec {
			return actor.ChildSpec{Name: "s", Strategy: supervisor.NewOneForOne(0, time.Minute),
				Children: []actor.ChildSpec{worker(t, "c", readyJS)}}
		}, "s/c", "ending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			idle := func() actor.Receiver { return actor.ReceiverFunc(func(*actor.Context) {}) }
			n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"idle": idle}})
			if err != nil {
				t.Fatal(err)
			}
			events := newLifeEvents()
			sub := n.Subscribe(events.record)
			root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
				Children: []actor.ChildSpec{worker(t, "a", readyJS), tc.spec(t)}}
			if err := n.Start(root); err != nil {
				t.Fatal(err)
			}
			p, _ := n.Lookup(tc.path)
			var notified atomic.Int32
			if noproc, err := actor.WatchForNode(p, func(string) {
				notified.Add(1)
				panic(errors.New("notify bug"))
			}); noproc || err != nil {
				t.Fatalf("watch %q: noproc %v, %v", tc.path, noproc, err)
			}
			// Other monitors of the incarnation are told all the same,
			// whichever the end tells first.
			var others [8]atomic.Int32
			for i := range others {
				if noproc, err := actor.WatchForNode(p, func(string) { others[i].Add(1) }); noproc || err != nil {
					t.Fatalf("watch %q: noproc %v, %v", tc.path, noproc, err)
				}
			}
			if err := n.Restart(p.ID()); err != nil {
				t.Fatal(err)
			}
			events.await(t, "second incarnation of "+tc.started, startedAgain(tc.started))
			if got := notified.Load(); got != 1 {
				t.Errorf("the monitor was notified %d times, want once", got)
			}
			for i := range others {
				if got := others[i].Load(); got != 1 {
					t.Errorf("other monitor %d was notified %d times, want once", i, got)
				}
			}
			restartCrash(t, p, tc.step, "notify bug")
			inc := map[string]uint64{tc.path: 2, tc.started: 2}
			endNode(t, n, inc)
			<-sub.Done()
			testkit.NoLeaks(t, before)
		})
	}
}

// A panic in a process's Stopped handling — a pending call's answer as
// the process retires, a supervisor's end telling its monitors — is
// reported with action stop, and the process still tells its supervisor
// it has ended: the node's shutdown finishes and Wait reports no failure.
func TestShutdown_StoppedPanics(t *testing.T) {
	answerPanics := func(path string) func(*actor.Node) {
		return func(n *actor.Node) {
			p, _ := n.Lookup(path)
			if err := actor.PendCall(p, func(error) { panic("answer bug") }); err != nil {
				panic(fmt.Sprintf("pend a call to %q: %v", path, err))
			}
		}
	}
	idle := func() actor.Receiver { return actor.ReceiverFunc(func(*actor.Context) {}) }
	opts := func() actor.Options {
		return actor.Options{Receivers: map[string]func() actor.Receiver{"idle": idle}}
	}
	t.Run("script worker", func(t *testing.T) {
		root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
			Children: []actor.ChildSpec{worker(t, "a", readyJS), worker(t, "w", readyJS)}}
		shutdownAfterPanic(t, opts(), root, answerPanics("w"), "w", "after it stopped", "answer bug")
	})
	t.Run("Go worker", func(t *testing.T) {
		root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
			Children: []actor.ChildSpec{worker(t, "a", readyJS), {Name: "g", Go: "idle"}}}
		shutdownAfterPanic(t, opts(), root, answerPanics("g"), "g", "after it stopped", "answer bug")
	})
	for _, path := range []string{"s", ""} {
		t.Run("supervisor "+map[string]string{"s": "s", "": "root"}[path], func(t *testing.T) {
			s := actor.ChildSpec{Name: "s", Strategy: supervisor.NewOneForOne(0, time.Minute),
				Children: []actor.ChildSpec{worker(t, "c", readyJS)}}
			root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
				Children: []actor.ChildSpec{worker(t, "a", readyJS), s}}
			shutdownAfterPanic(t, opts(), root, func(n *actor.Node) {
				p, _ := n.Lookup(path)
				if _, err := actor.WatchForNode(p, func(string) { panic("notify bug") }); err != nil {
					t.Fatal(err)
				}
			}, path, "after it stopped", "notify bug")
		})
	}
}

// A child that crashes while its supervisor is being stopped (here by the
// operator, with the node running) is reported and stopped, as OTP's
// supervisor does in its shutdown: it costs no intensity, so the
// supervisor, under intensity 0, does not give up and fail to its own.
func TestStop_CrashWhileSupervisorStopsIsOnlyReported(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var n *actor.Node
	n, err := actor.NewNode(actor.Options{Receivers: crashWhileStopping(t, &n, "s/a", "a crashes while s stops")})
	if err != nil {
		t.Fatal(err)
	}
	s := actor.ChildSpec{Name: "s", Strategy: supervisor.NewOneForOne(0, time.Minute),
		Children: []actor.ChildSpec{{Name: "a", Go: "a"}, {Name: "b", Go: "b"}}}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Minute),
		Children: []actor.ChildSpec{worker(t, "w", readyJS), s}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	sp, _ := n.Lookup("s")
	if err := n.Stop(sp.ID()); err != nil {
		t.Fatal(err)
	}
	// The guard only bounds a hang: s is stopped once it has handled a's end.
	checkFor(t, shutdownGuard, time.Millisecond, func() error {
		if st := sp.Status(); st != actor.StatusStopped {
			return fmt.Errorf("s is %v", st)
		}
		return nil
	})
	ap, _ := n.Lookup("s/a")
	if cs := ap.Crashes(); len(cs) != 1 || cs[0].Action != actor.ActionStop || cs[0].Restarted || !strings.Contains(cs[0].Err.Error(), "a crashes") {
		t.Errorf("a's crash reports = %v, want its crash, with action stop", cs)
	}
	if cs := sp.Crashes(); len(cs) != 0 {
		t.Errorf("s's crash reports = %v, want none: it stopped in order", cs)
	}
	endNode(t, n, nil)
	testkit.NoLeaks(t, before)
}

// crashWhileStopping makes the receivers of two Go children, a and b, of
// one supervisor: a panics with panicText on any message; b, stopped
// first, sends a message to a (at aPath, on the node *n) as it
// terminates and waits for a's crash, so that a's failure reaches their
// supervisor while it is stopping its children.
func crashWhileStopping(t *testing.T, n **actor.Node, aPath, panicText string) map[string]func() actor.Receiver {
	crashing := make(chan struct{})
	a := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Message); ok {
				close(crashing)
				panic(panicText)
			}
		})
	}
	b := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Terminate); !ok {
				return
			}
			to, err := (*n).Capability(aPath, capability.Send)
			if err == nil {
				err = c.Send(to, "crash")
			}
			if err != nil {
				t.Errorf("send to a: %v", err)
				return
			}
			<-crashing
		})
	}
	return map[string]func() actor.Receiver{"a": a, "b": b}
}
