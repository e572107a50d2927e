package actor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/supervisor"
)

// startPanics is a strategy with a bug: the start of one incarnation of
// its supervisor (the at-th NewSupervision) panics, in NewSupervision
// itself or in Init once Init has started the children.
type startPanics struct {
	actor.Strategy
	at     int32
	inInit bool
	calls  *atomic.Int32
}

func (s startPanics) NewSupervision() actor.Supervision {
	k := s.calls.Add(1)
	if k == s.at && !s.inInit {
		panic(errors.New("startPanics: strategy bug in NewSupervision"))
	}
	sv := s.Strategy.NewSupervision()
	if k == s.at {
		return panicInInit{sv}
	}
	return sv
}

type panicInInit struct{ actor.Supervision }

func (s panicInInit) Init(sup *actor.Supervisor) error {
	if err := s.Supervision.Init(sup); err != nil {
		return err
	}
	panic(errors.New("startPanics: strategy bug in Init"))
}

// recordEnds is a strategy whose Supervision notes each child end it
// decides on, with the decision: "path#incarnation reason action".
type recordEnds struct {
	actor.Strategy
	log *endLog
}

type endLog struct {
	mu   sync.Mutex
	ends []string
}

func (l *endLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ends)
}

// wait returns the decisions once there are at least n. The recorder
// notes a decision once the restart it made has run, and so after the
// starts of that restart, which a test may have awaited already.
func (l *endLog) wait(t *testing.T, n int) []string {
	t.Helper()
	checkFor(t, shutdownGuard, time.Millisecond, func() error {
		if got := l.get(); len(got) < n {
			return fmt.Errorf("the supervisor decided on %q, want %d decisions", got, n)
		}
		return nil
	})
	return l.get()
}

func (s recordEnds) NewSupervision() actor.Supervision {
	return endRecorder{s.Strategy.NewSupervision(), s.log}
}

type endRecorder struct {
	actor.Supervision
	log *endLog
}

func (r endRecorder) ChildEnded(sup *actor.Supervisor, child *actor.Process, cr *actor.Crash) {
	r.Supervision.ChildEnded(sup, child, cr)
	r.log.mu.Lock()
	r.log.ends = append(r.log.ends, fmt.Sprintf("%s#%d %s %s", child.Path(), cr.Incarnation, cr.Reason, cr.Action))
	r.log.mu.Unlock()
}

// A panic in NewSupervision or Init while a supervisor restarts, with its
// parent waiting for it (restarted beside a sibling, or started by its
// own restarted parent), is a failed start: the parent's wait ends with
// the error, and the crash reaches the parent, which decides on it as on
// any crash — it counts toward the intensity, and the parent restarts the
// supervisor again, whose next start is healthy, or gives up. Before, the
// panic ended the start without answering the wait, which has no timeout
// for a supervisor: the parent, blocked, never handled the crash, and
// that part of the tree was wedged for good.
func TestRestart_ASupervisorStartThatPanicsIsAFailedStart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		inInit    bool
		nested    bool // s is a child of m, which the operator restarts
		intensity int  // of s's parent
		ends      []string
		inc       map[string]uint64 // at the end, for a parent that did not give up
	}{
		{name: "NewSupervision, beside a sibling", intensity: 3,
			ends: []string{"a#1 error restart", "s#2 error restart"},
			inc:  map[string]uint64{"a": 3, "s": 3, "s/c": 2}},
		{name: "Init, beside a sibling", inInit: true, intensity: 3,
			ends: []string{"a#1 error restart", "s#2 error restart"},
			inc:  map[string]uint64{"a": 3, "s": 3, "s/c": 3}},
		{name: "NewSupervision, the parent gives up", intensity: 1,
			ends: []string{"a#1 error restart", "s#2 error escalate"}},
		{name: "NewSupervision, started by its restarted parent", nested: true, intensity: 3,
			ends: []string{"m/s#2 error restart"},
			inc:  map[string]uint64{"m": 2, "m/s": 3, "m/s/c": 2}},
		{name: "Init, started by its restarted parent", nested: true, inInit: true, intensity: 3,
			ends: []string{"m/s#2 error restart"},
			inc:  map[string]uint64{"m": 2, "m/s": 3, "m/s/c": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			n, err := actor.NewNode(actor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			events := newLifeEvents()
			sub := n.Subscribe(events.record)
			log := &endLog{}
			var calls atomic.Int32
			s := actor.ChildSpec{Name: "s", Strategy: startPanics{Strategy: supervisor.NewOneForOne(0, time.Minute),
				at: 2, inInit: tc.inInit, calls: &calls}, Children: []actor.ChildSpec{worker(t, "c", readyJS)}}
			sPath, step := "s", "NewSupervision"
			if tc.inInit {
				step = "Init"
			}
			var root actor.ChildSpec
			if tc.nested {
				sPath = "m/s"
				m := actor.ChildSpec{Name: "m", Strategy: recordEnds{supervisor.NewOneForOne(tc.intensity, time.Minute), log},
					Children: []actor.ChildSpec{s}}
				root = actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
					Children: []actor.ChildSpec{m}}
			} else {
				root = actor.ChildSpec{Name: "root", Strategy: recordEnds{supervisor.NewOneForAll(tc.intensity, time.Minute), log},
					Children: []actor.ChildSpec{worker(t, "a", victimJS), s}}
			}
			if err := n.Start(root); err != nil {
				t.Fatal(err)
			}
			sp, _ := n.Lookup(sPath)
			if tc.nested {
				m, _ := n.Lookup("m")
				if err := n.Restart(m.ID()); err != nil {
					t.Fatal(err)
				}
			} else {
				sendTo(t, n, "a", map[string]any{"op": "crash"})
			}

			if tc.inc == nil {
				// The parent gave up: the node stops by itself.
				done := make(chan error, 1)
				go func() { done <- n.Wait() }()
				select {
				case err := <-done:
					if !errors.Is(err, actor.ErrRootFailed) || !strings.Contains(err.Error(), supervisor.ReasonMaxIntensity) {
						t.Errorf("wait = %v, want ErrRootFailed for %s", err, supervisor.ReasonMaxIntensity)
					}
				case <-time.After(shutdownGuard):
					t.Fatalf("the node did not stop within %v: the root waits for the start of %s", shutdownGuard, sPath)
				}
			} else {
				cPath := sPath + "/c"
				want := tc.inc[cPath]
				events.await(t, fmt.Sprintf("incarnation %d of %s", want, cPath), func(e actor.Event) bool {
					s, ok := e.(actor.Started)
					return ok && s.Path == cPath && s.Incarnation == want
				})
				ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
				defer cancel()
				cc, _ := n.Capability(cPath, capability.All)
				if out, err := callBytes(ctx, n, cc, []byte{0xc0}); err != nil || string(out) != "\xa2ok" {
					t.Errorf("%s answered %q, %v after %s's restart; want \"ok\"", cPath, out, err, sPath)
				}
				// s runs once its Init, which started c, has returned.
				checkFor(t, shutdownGuard, time.Millisecond, func() error {
					if st := sp.Status(); st != actor.StatusRunning {
						return fmt.Errorf("%s is %v, want running", sPath, st)
					}
					return nil
				})
			}
			if got := log.wait(t, len(tc.ends)); !slices.Equal(got, tc.ends) {
				t.Errorf("the ends %s's parent decided on = %q, want %q", sPath, got, tc.ends)
			}
			wantAction := actor.ActionRestart
			if tc.inc == nil {
				wantAction = actor.ActionEscalate
			}
			cs := sp.Crashes()
			if len(cs) != 1 || cs[0].Incarnation != 2 || cs[0].Reason != "error" || cs[0].Action != wantAction ||
				!strings.Contains(cs[0].Err.Error(), "strategy bug in "+step) || cs[0].Stack == "" {
				t.Errorf("%s's crash reports = %v, want one for incarnation 2, with action %s and the stack of the panic in %s",
					sPath, cs, wantAction, step)
			}
			if tc.inc != nil {
				if got := calls.Load(); got != 3 {
					t.Errorf("%s's strategy made %d Supervisions, want 3", sPath, got)
				}
				endNode(t, n, tc.inc)
			}
			<-sub.Done()
			testkit.NoLeaks(t, before)
		})
	}
}

// A panic in NewSupervision or Init of a nested supervisor, or of the
// root, during the node's first start fails the start, as an init that
// throws does, with an error that names the supervisor and the panic, and
// the node stops. Before, the root waited for the nested supervisor for
// good, and the root's own panic went to protoactor, which restarted it;
// either way Start gave up after a minute.
func TestStart_ASupervisorStartThatPanicsFailsTheStart(t *testing.T) {
	for _, tc := range []struct {
		inInit bool
		root   bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		step := map[bool]string{false: "NewSupervision", true: "Init"}[tc.inInit]
		who := map[bool]string{false: "s", true: "the root supervisor"}[tc.root]
		t.Run(who+" "+step, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			n, err := actor.NewNode(actor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			bad := startPanics{Strategy: supervisor.NewOneForOne(3, time.Minute), at: 1, inInit: tc.inInit, calls: &calls}
			s := actor.ChildSpec{Name: "s", Strategy: supervisor.NewOneForOne(3, time.Minute),
				Children: []actor.ChildSpec{worker(t, "c", readyJS)}}
			root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Minute),
				Children: []actor.ChildSpec{worker(t, "a", readyJS), s, worker(t, "z", readyJS)}}
			path := ""
			if tc.root {
				root.Strategy = bad
			} else {
				root.Children[1].Strategy = bad
				path = "s"
			}
			err = n.Start(root)
			if err == nil || !strings.Contains(err.Error(), who+": ") || !strings.Contains(err.Error(), "strategy bug in "+step) {
				t.Fatalf("start = %v, want the panic in %s's %s", err, who, step)
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("the strategy made %d Supervisions, want 1: a failed first start is not retried", got)
			}
			// Init panics once it has started the children.
			if z, _ := n.Lookup("z"); !(tc.root && tc.inInit) && z.Incarnation() != 0 {
				t.Errorf("z was started (incarnation %d) after %s failed to", z.Incarnation(), who)
			}
			// A child's failed start is in the start's error, as a
			// worker's is; the root's is also its crash report.
			p, _ := n.Lookup(path)
			if cs := p.Crashes(); tc.root && (len(cs) != 1 || !strings.Contains(cs[0].Err.Error(), "strategy bug in "+step) || cs[0].Stack == "") {
				t.Errorf("the root's crash reports = %v, want the panic's, with its stack", cs)
			}
			if err := n.Wait(); err != nil && !errors.Is(err, actor.ErrRootFailed) {
				t.Errorf("wait = %v", err)
			}
			for _, q := range n.Processes() {
				if st := q.Status(); q.Incarnation() != 0 && st != actor.StatusStopped && st != actor.StatusFailed {
					t.Errorf("%q is %v after the failed start, want it ended", q.Path(), st)
				}
			}
			testkit.NoLeaks(t, before)
		})
	}
}

// A supervisor that is stopped while its parent restarts it (a stop
// racing the restart) never starts its new incarnation: its end answers
// the parent's wait for that start, so the parent goes on. Before, the
// parent waited for the start for good and handled nothing more.
func TestRestart_ASupervisorStoppedBeforeItStartsAnswersTheWait(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var armed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	c := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			if _, ok := c.Message().(actor.Terminate); ok && armed.CompareAndSwap(true, false) {
				close(entered)
				<-release
			}
		})
	}
	n, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"c": c}})
	if err != nil {
		t.Fatal(err)
	}
	events := newLifeEvents()
	sub := n.Subscribe(events.record)
	log := &endLog{}
	s := actor.ChildSpec{Name: "s", Strategy: supervisor.NewOneForOne(0, time.Minute),
		Children: []actor.ChildSpec{{Name: "c", Go: "c"}}}
	root := actor.ChildSpec{Name: "root", Strategy: recordEnds{supervisor.NewOneForAll(3, time.Minute), log},
		Children: []actor.ChildSpec{worker(t, "a", victimJS), s}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	sp, _ := n.Lookup("s")
	armed.Store(true)
	// a's crash restarts a, then s, each waited for: s's restart stops c,
	// whose Terminate holds it until s has been stopped.
	sendTo(t, n, "a", map[string]any{"op": "crash"})
	select {
	case <-entered:
	case <-time.After(shutdownGuard):
		t.Fatalf("c's Terminate did not run within %v: s was not restarted", shutdownGuard)
	}
	actor.StopRacingRestart(sp)
	close(release)
	checkFor(t, shutdownGuard, time.Millisecond, func() error {
		if st := sp.Status(); st != actor.StatusStopped {
			return fmt.Errorf("s is %v", st)
		}
		return nil
	})
	// The root handles a's next crash: it is not waiting for s.
	sendTo(t, n, "a", map[string]any{"op": "crash"})
	events.await(t, "incarnation 3 of a", func(e actor.Event) bool {
		s, ok := e.(actor.Started)
		return ok && s.Path == "a" && s.Incarnation == 3
	})
	if got, want := log.wait(t, 2), []string{"a#1 error restart", "a#2 error restart"}; !slices.Equal(got, want) {
		t.Errorf("the ends the root decided on = %q, want %q", got, want)
	}
	if cs := sp.Crashes(); len(cs) != 0 {
		t.Errorf("s's crash reports = %v, want none: it was stopped", cs)
	}
	endNode(t, n, map[string]uint64{"a": 3})
	<-sub.Done()
	testkit.NoLeaks(t, before)
}
