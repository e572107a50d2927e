package isolate_test

import (
	"errors"
	"testing"

	"github.com/cloister-rt/cloister/isolate"
)

// callSettleJS makes two calls in one turn and reports, in order, how each
// settled, what the continuations saw, and whether the microtasks queued
// by each continuation ran before the turn ended.
const callSettleJS = `
export async function receive(msg, ctx) {
  if (msg.thenable) {
    Object.prototype.then = function (resolve) { delete Object.prototype.then; resolve("via then " + this.n); };
  }
  const seen = [];
  const a = ctx.env.peer.call({q: 1}).then((v) => { seen.push("a:" + JSON.stringify(v)); return Promise.resolve().then(() => seen.push("a-micro")); },
    (e) => seen.push("a threw " + e.name + ": " + e.message));
  const b = ctx.env.peer.call({q: 2}).then((v) => seen.push("b:" + JSON.stringify(v)),
    (e) => seen.push("b threw " + e.name + ": " + e.message));
  await Promise.all([a, b]);
  return seen.join(", ");
}`

// TestCall_SettledAsByResolvingFunctions: a call's promise, settled by the
// isolate without goja's resolving functions, fulfils with a primitive,
// rejects with the host's error, and follows a thenable object, and the
// continuations and their microtasks run when the host settles it.
func TestCall_SettledAsByResolvingFunctions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		thenable bool
		a        any
		errA     error
		b        any
		want     string
	}{
		{"primitives", false, 21, nil, "x", `a:21, a-micro, b:"x"`},
		{"objects", false, map[string]any{"n": 1}, nil, []any{1, "two"}, `a:{"n":1}, a-micro, b:[1,"two"]`},
		{"rejected", false, nil, errors.New("peer gone"), nil, `a threw Error: peer gone, b:null`},
		{"thenable", true, map[string]any{"n": 7}, nil, 3, `a:"via then 7", a-micro, b:3`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iso, _ := newIsolate(t, callSettleJS, isolate.Limits{})
			var out *isolate.Outcome
			iso.Receive(envelope(t, map[string]any{"thenable": tc.thenable}), true, func(o isolate.Outcome) { out = &o })
			if out != nil {
				t.Fatalf("turn finished before its calls were answered: %+v", out)
			}
			var envA = envelope(t, tc.a)
			if tc.errA != nil {
				envA = nil
			}
			if err := iso.SettleCall(1, envA, tc.errA); err != nil {
				t.Fatal(err)
			}
			if out != nil {
				t.Fatal("turn finished with a call unanswered")
			}
			if err := iso.SettleCall(2, envelope(t, tc.b), nil); err != nil {
				t.Fatal(err)
			}
			if out == nil {
				t.Fatal("turn did not finish after both replies")
			}
			if got := answer(t, *out); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
