package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// queueJS is the job queue of the issue: a get waits for the next put,
// answered from the put's turn through a deferred reply.
const queueJS = `
const waiting = [];
const jobs = [];
let second = "";
export function receive(msg, ctx) {
  switch (msg.type) {
  case "get": {
    if (jobs.length) return jobs.shift();
    waiting.push(ctx.deferReply());
    return "ignored: the reply was deferred";
  }
  case "put":
    if (waiting.length) {
      const r = waiting.shift();
      r.reply(msg.job);
      try { r.reply("again"); } catch (e) { second = e.name + ": " + e.message; }
    } else jobs.push(msg.job);
    return;
  case "reject": waiting.shift().fail(new Error(msg.why)); return;
  case "waiting": return waiting.length;
  case "second": return second;
  case "forward": msg.to.send({type: "answer", r: ctx.deferReply()}); return;
  case "hand-over": msg.to.send({type: "keep", r: ctx.deferReply()}); return;
  case "send-only": try { ctx.deferReply(); return "no throw"; } catch (e) { ctx.self.send({type: "log", e: e.message}); return; }
  case "log": second = msg.e; return;
  case "boom": throw new Error("boom");
  }
}`

// answererJS answers reply handles sent to it.
const answererJS = `
let kept;
export function receive(msg, ctx) {
  if (msg.type === "answer") msg.r.reply({by: "answerer", rights: msg.r.rights});
  if (msg.type === "keep") kept = msg.r;
  if (msg.type === "late") { try { kept.reply(1); return "answered"; } catch (e) { return e.message; } }
}`

// asyncQueueJS awaits a promise that only a later message settles: it
// works because the turn took its reply out first.
const asyncQueueJS = `
const waiters = [];
export async function receive(msg, ctx) {
  if (msg.type === "get") {
    const r = ctx.deferReply();
    const job = await new Promise((resolve) => waiters.push(resolve));
    r.reply("got " + job);
  }
  if (msg.type === "put") waiters.shift()(msg.job);
}`

func TestDeferReply_AnsweredFromALaterTurn(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "queue", queueJS))
	type result struct {
		v   any
		err error
	}
	got := make(chan result, 2)
	for range 2 {
		go func() {
			var v any
			err := f.node.Call(context.Background(), f.cap("queue"), map[string]any{"type": "get"}, &v)
			got <- result{v, err}
		}()
	}
	// Both gets have run and left the mailbox free.
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := num(f.mustCall("queue", map[string]any{"type": "waiting"})); n != 2 {
			return fmt.Errorf("%d calls waiting, want 2", n)
		}
		return nil
	})
	if err := f.node.Send(context.Background(), f.cap("queue"), map[string]any{"type": "put", "job": "j1"}); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err != nil || r.v != "j1" {
		t.Fatalf("first get: %v, %v; want j1", r.v, r.err)
	}
	if s := f.mustCall("queue", map[string]any{"type": "second"}); s != "Error: "+isolate.ErrReplied.Error() {
		t.Errorf("answering twice: %q, want an Error saying %q", s, isolate.ErrReplied)
	}
	if err := f.node.Call(context.Background(), f.cap("queue"), map[string]any{"type": "reject", "why": "no job for you"}, nil); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if !errors.Is(r.err, isolate.ErrCallFailed) || !strings.Contains(r.err.Error(), "Error: no job for you") {
		t.Fatalf("failed get: %v, want %v with the script's error", r.err, isolate.ErrCallFailed)
	}
	if p, _ := f.node.Lookup("queue"); p.MailboxDepth() != 0 || p.Incarnation() != 1 {
		t.Errorf("queue: mailbox %d, incarnation %d; want 0 and 1", p.MailboxDepth(), p.Incarnation())
	}
}

func TestDeferReply_HandleTravelsInAMessage(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "queue", queueJS), worker(t, "answerer", answererJS))
	var got map[string]any
	if err := f.node.Call(context.Background(), f.cap("queue"), map[string]any{"type": "forward", "to": f.cap("answerer")}, &got); err != nil {
		t.Fatal(err)
	}
	if got["by"] != "answerer" || fmt.Sprint(got["rights"]) != "[send]" {
		t.Fatalf("got %v, want the answerer's reply through a handle with the send right", got)
	}
}

func TestDeferReply_NotInASend(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "queue", queueJS))
	if err := f.node.Send(context.Background(), f.cap("queue"), map[string]any{"type": "send-only"}); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if s := f.mustCall("queue", map[string]any{"type": "second"}); s != isolate.ErrNoCallToAnswer.Error() {
			return fmt.Errorf("deferReply in a send: %q", s)
		}
		return nil
	})
}

func TestDeferReply_UnansweredWhenTheCalleeCrashes(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "queue", queueJS))
	got := make(chan error, 1)
	go func() {
		_, err := f.call("queue", map[string]any{"type": "get"})
		got <- err
	}()
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := num(f.mustCall("queue", map[string]any{"type": "waiting"})); n != 1 {
			return fmt.Errorf("%d calls waiting, want 1", n)
		}
		return nil
	})
	if err := f.node.Send(context.Background(), f.cap("queue"), map[string]any{"type": "boom"}); err != nil {
		t.Fatal(err)
	}
	err := <-got
	if !errors.Is(err, isolate.ErrCalleeCrashed) || !strings.Contains(err.Error(), "error") {
		t.Fatalf("call to a callee that crashed holding its reply: %v, want %v naming the reason", err, isolate.ErrCalleeCrashed)
	}
}

func TestDeferReply_AsyncReceiveFreesTheMailbox(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "q", asyncQueueJS))
	got := make(chan any, 1)
	go func() { got <- f.mustCall("q", map[string]any{"type": "get"}) }()
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if p, _ := f.node.Lookup("q"); p.Handled() != 1 {
			return fmt.Errorf("handled %d", p.Handled())
		}
		return nil
	})
	if err := f.node.Send(context.Background(), f.cap("q"), map[string]any{"type": "put", "job": "j"}); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "got j" {
		t.Fatalf("got %v, want %q", v, "got j")
	}
}

func TestTurnHeld_WarnsWhenAReceiveHoldsTheMailbox(t *testing.T) {
	src := `
const waiters = [];
export async function receive(msg, ctx) {
  if (msg.type === "get") return await new Promise((resolve) => waiters.push(resolve));
}`
	n, err := actor.NewNode(actor.Options{TurnWarning: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan actor.TurnHeld, 1)
	sub := n.Subscribe(func(e actor.Event) {
		if h, ok := e.(actor.TurnHeld); ok {
			select {
			case held <- h:
			default:
			}
		}
	})
	defer sub.Close()
	root := oneForOne(worker(t, "stuck", src))
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	c, _ := n.Capability("stuck", capability.All)
	if err := n.Send(context.Background(), c, map[string]any{"type": "get"}); err != nil {
		t.Fatal(err)
	}
	h := <-held
	if h.Path != "stuck" || h.Incarnation != 1 {
		t.Fatalf("got %+v", h)
	}
	p, _ := n.Lookup("stuck")
	if p.TurnHeldSince().IsZero() {
		t.Error("TurnHeldSince is zero while the turn holds the mailbox")
	}
}

func TestDeferReply_AnswerAfterTheCalleeEndedThrows(t *testing.T) {
	f := start(t, isolate.Limits{}, worker(t, "queue", queueJS), worker(t, "answerer", answererJS))
	got := make(chan error, 1)
	go func() {
		got <- f.node.Call(context.Background(), f.cap("queue"), map[string]any{"type": "hand-over", "to": f.cap("answerer")}, nil)
	}()
	a, _ := f.node.Lookup("answerer")
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if a.Handled() != 1 {
			return fmt.Errorf("the answerer has not got the handle yet")
		}
		return nil
	})
	if err := f.node.Send(context.Background(), f.cap("queue"), map[string]any{"type": "boom"}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("the caller got %v, want %v", err, isolate.ErrCalleeCrashed)
	}
	if s := f.mustCall("answerer", map[string]any{"type": "late"}); s != isolate.ErrReplied.Error() {
		t.Fatalf("a late answer: %q, want %q", s, isolate.ErrReplied)
	}
}
