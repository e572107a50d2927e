package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// hangJS defers the reply to "defer" and never finishes the turn of "hang".
const hangJS = `
const held = [];
export async function receive(msg, ctx) {
  if (msg === "defer") { held.push(ctx.deferReply()); return; }
  if (msg === "hang") await new Promise(() => {});
  return "ok";
}`

// A panic while an incarnation is closed — here the answer to the call
// its running turn was handling, Go code of the caller's — is reported as
// today, and the rest of the close still runs: the reply it deferred is
// failed with the reason the incarnation ended, and its isolate is closed
// and its CPU time counted. Before, the panic skipped the rest of the
// close: the deferred caller waited for its timeout (or, on a stop, was
// told only that the process had stopped), and the isolate stayed the
// process's live one, holding memory, with its CPU time lost on a restart.
func TestEnd_APanicInTheCloseLeavesTheRestOfItDone(t *testing.T) {
	for _, tc := range []struct {
		name, action, step string
		end                func(n *actor.Node, id uint64) error
	}{
		{"restart", actor.ActionRestart, "closing the incarnation while restarting", (*actor.Node).Restart},
		{"stop", actor.ActionStop, "closing the incarnation while stopping", (*actor.Node).Stop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			n, err := actor.NewNode(actor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			events := newLifeEvents()
			sub := n.Subscribe(events.record)
			root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Minute),
				Children: []actor.ChildSpec{worker(t, "a", readyJS), worker(t, "w", hangJS)}}
			if err := n.Start(root); err != nil {
				t.Fatal(err)
			}
			w, _ := n.Lookup("w")
			wc, err := n.Capability("w", capability.Send)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), shutdownGuard)
			defer cancel()
			deferred := make(chan error, 1)
			go func() { deferred <- n.Call(ctx, wc, "defer", nil) }()
			handled := func(k uint64) func() error {
				return func() error {
					if got := w.Handled(); got != k {
						return fmt.Errorf("w has handled %d messages, want %d", got, k)
					}
					return nil
				}
			}
			checkFor(t, shutdownGuard, time.Millisecond, handled(1))
			var answered atomic.Int32
			env, err := codec.Encode("hang")
			if err != nil {
				t.Fatal(err)
			}
			if err := actor.CallAnswered(n, wc, env, func(error) {
				answered.Add(1)
				panic("answer bug")
			}); err != nil {
				t.Fatal(err)
			}
			// The hang turn runs from here to the end of the incarnation:
			// the close answers its call.
			checkFor(t, shutdownGuard, time.Millisecond, handled(2))
			cpu := w.CPUTime()
			if cpu <= 0 {
				t.Fatalf("w's CPU time is %v after two turns; the test cannot tell whether the close counts it", cpu)
			}

			if err := tc.end(n, w.ID()); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-deferred:
				if !errors.Is(err, isolate.ErrCalleeCrashed) || !strings.Contains(err.Error(), "deferred") {
					t.Errorf("the deferred call = %v, want ErrCalleeCrashed for a reply deferred and never answered", err)
				}
			case <-ctx.Done():
				t.Fatalf("the deferred call was not answered within %v: the close stopped at the panic", shutdownGuard)
			}
			if tc.action == actor.ActionRestart {
				events.await(t, "second incarnation of w", startedAgain("w"))
				if out, err := callBytes(ctx, n, wc, []byte{0xc0}); err != nil || string(out) != "\xa2ok" {
					t.Errorf("w's new incarnation answered %q, %v; want \"ok\"", out, err)
				}
			} else {
				checkFor(t, shutdownGuard, time.Millisecond, func() error {
					if st := w.Status(); st != actor.StatusStopped {
						return fmt.Errorf("w is %v", st)
					}
					return nil
				})
				if m := w.Memory(); m != 0 {
					t.Errorf("w holds %d bytes after it stopped: its isolate was not closed", m)
				}
			}
			if got := answered.Load(); got != 1 {
				t.Errorf("the panicking answer ran %d times, want once", got)
			}
			if got := w.CPUTime(); got < cpu {
				t.Errorf("w's CPU time went from %v to %v: the ended incarnation's was not counted", cpu, got)
			}
			cs := w.Crashes()
			if len(cs) != 1 || cs[0].Incarnation != 1 || cs[0].Action != tc.action ||
				!strings.Contains(cs[0].Err.Error(), "answer bug") || !strings.Contains(cs[0].Err.Error(), tc.step) {
				t.Errorf("w's crash reports = %v, want one for incarnation 1 with action %s for the panic in %s", cs, tc.action, tc.step)
			}
			inc := map[string]uint64{}
			if tc.action == actor.ActionRestart {
				inc["w"] = 2
			}
			cancel()
			endNode(t, n, inc)
			<-sub.Done() // every event has been delivered
			if got := events.crashed(); len(got) != 1 || got[0].Path != "w" {
				t.Errorf("Crashed events = %v, want the panic's, for w", got)
			}
			testkit.NoLeaks(t, before)
		})
	}
}
