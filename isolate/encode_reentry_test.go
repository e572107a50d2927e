package isolate_test

import (
	"testing"

	"github.com/cloister-rt/cloister/isolate"

	"github.com/vmihailenco/msgpack/v5"
)

// A getter that sends while its own message is being encoded starts a second
// encode in the middle of the first. Each envelope must carry exactly its own
// capabilities, in the order of the indices written into its bytes.
func TestIsolate_SendInsideGetterKeepsEachMessagesCapabilities(t *testing.T) {
	iso, h := newIsolate(t, `
export function receive(msg, ctx) {
  const peer = ctx.env.peer;
  peer.send({first: ctx.self, get inner() { peer.send({x: peer, y: ctx.self, z: peer}); return 1; }, last: peer});
  return "ok";
}`, isolate.Limits{})
	if got := answer(t, turn(t, iso, map[string]any{})); got != "ok" {
		t.Fatalf("answer = %v", got)
	}
	if len(h.sent) != 2 {
		t.Fatalf("sent %d messages, want 2", len(h.sent))
	}
	ids := func(i int) []uint64 {
		var out []uint64
		for _, c := range h.sent[i].Caps() {
			out = append(out, c.Target().TargetID())
		}
		return out
	}
	// The inner message is sent first, while the outer one is half written.
	if got := ids(0); len(got) != 3 || got[0] != 2 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("inner message carries targets %v, want [2 1 2]", got)
	}
	if got := ids(1); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("outer message carries targets %v, want [1 2]", got)
	}

	// The receiver sees the outer message's handles where the sender put them.
	recv, _ := newIsolate(t, `
export function receive(msg, ctx) {
  return [msg.first === undefined, msg.inner, msg.last === undefined].join(",");
}`, isolate.Limits{})
	var out *isolate.Outcome
	recv.Receive(h.sent[1], true, func(o isolate.Outcome) { out = &o })
	if out == nil {
		t.Fatal("turn did not finish")
	}
	if got := answer(t, *out); got != "false,1,false" {
		t.Fatalf("receiver saw %v", got)
	}
}

// The encoder's buffer goes back to a pool after each send: a message already
// handed to the host must keep its own bytes while the next ones are written
// (small ones live inside the envelope, large ones in their own copy).
func TestIsolate_SentMessagesKeepTheirBytes(t *testing.T) {
	iso, h := newIsolate(t, `
export function receive(msg, ctx) {
  const peer = ctx.env.peer;
  peer.send({n: 1});
  peer.send({n: 2, s: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"});
  peer.send({n: 3, s: "y".repeat(500)});
  peer.send({n: 4});
  return "ok";
}`, isolate.Limits{})
	answer(t, turn(t, iso, map[string]any{}))
	if len(h.sent) != 4 {
		t.Fatalf("sent %d messages, want 4", len(h.sent))
	}
	for k, env := range h.sent {
		var m struct {
			N int    `msgpack:"n"`
			S string `msgpack:"s"`
		}
		if err := msgpack.Unmarshal(env.Data(), &m); err != nil {
			t.Fatalf("message %d: %v", k+1, err)
		}
		if m.N != k+1 {
			t.Fatalf("message %d decodes as n=%d", k+1, m.N)
		}
	}
}
