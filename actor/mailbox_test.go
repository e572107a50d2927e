package actor_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// slowJS takes each message in a turn that waits 200 ms, so its mailbox
// fills behind it; it remembers the order of what it handled.
const slowJS = `
const seen = [];
export async function receive(msg) {
  if (msg.op === "seen") return seen;
  seen.push(msg.i);
  await new Promise((resolve) => setTimeout(resolve, 200));
}`

// flooderJS sends msg.n messages of msg.pad bytes in one turn and reports
// which were refused, and how.
const flooderJS = `
export async function receive(msg, ctx) {
  const out = {sent: 0, refused: [], errors: []};
  for (let i = 0; i < msg.n; i++) {
    try {
      if (msg.call) {
        ctx.env.peer.call({i, pad: "x".repeat(msg.pad ?? 0)}).catch(() => {});
      } else {
        ctx.env.peer.send({i, pad: "x".repeat(msg.pad ?? 0)});
      }
      out.sent++;
    } catch (e) {
      out.refused.push(i);
      if (!out.errors.includes(e.name + ": " + e.message)) out.errors.push(e.name + ": " + e.message);
    }
  }
  return out;
}`

type floodResult struct {
	Sent    int      `msgpack:"sent"`
	Refused []int    `msgpack:"refused"`
	Errors  []string `msgpack:"errors"`
}

func flood(f *fixture, msg map[string]any) floodResult {
	f.t.Helper()
	v := f.mustCall("flooder", msg)
	m := v.(map[string]any)
	var r floodResult
	r.Sent = toInt(m["sent"])
	for _, x := range m["refused"].([]any) {
		r.Refused = append(r.Refused, toInt(x))
	}
	for _, x := range m["errors"].([]any) {
		r.Errors = append(r.Errors, x.(string))
	}
	return r
}

func toInt(v any) int {
	switch n := v.(type) {
	case int8:
		return int(n)
	case uint8:
		return int(n)
	case int16:
		return int(n)
	case uint16:
		return int(n)
	case int32:
		return int(n)
	case uint32:
		return int(n)
	case int64:
		return int(n)
	case uint64:
		return int(n)
	case float64:
		return int(n)
	}
	panic(fmt.Sprintf("not a number: %T %v", v, v))
}

// seen waits until path has taken up every message the flood left and
// then asks what it handled (asking earlier would itself queue behind).
func (f *fixture) seen(path string, flood int) []int {
	f.t.Helper()
	p := f.proc(path)
	checkFor(f.t, 10*time.Second, 20*time.Millisecond, func() error {
		if int(p.Handled()+p.Dropped()) < flood || p.MailboxDepth() != 0 {
			return fmt.Errorf("%s: %d handled, %d dropped, %d queued", path, p.Handled(), p.Dropped(), p.MailboxDepth())
		}
		return nil
	})
	var out []int
	for _, x := range f.mustCall(path, map[string]any{"op": "seen"}).([]any) {
		out = append(out, toInt(x))
	}
	return out
}

func slowPair(t *testing.T, lim mailbox.Limits, flooderLim mailbox.Limits) *fixture {
	slow := worker(t, "slow", slowJS)
	slow.Mailbox = lim
	fl := worker(t, "flooder", flooderJS, actor.GrantSpec{Name: "peer", To: "slow", Rights: capability.Send})
	fl.Mailbox = flooderLim
	return start(t, isolate.Limits{}, slow, fl)
}

func TestMailbox_RejectThrowsMailboxFullInTheSender(t *testing.T) {
	f := slowPair(t, mailbox.Limits{Messages: 3}, mailbox.Limits{})
	r := flood(f, map[string]any{"n": 10})
	// The first message may have started its turn before the rest arrived.
	// A turn may start while the flood goes on and make room for one more.
	if r.Sent < 3 || r.Sent > 5 || len(r.Refused) != 10-r.Sent {
		t.Fatalf("sent %d, refused %v; want 3 to 5 accepted and the rest refused", r.Sent, r.Refused)
	}
	if len(r.Errors) != 1 || !strings.HasPrefix(r.Errors[0], "MailboxFull: ") || !strings.Contains(r.Errors[0], "slow") {
		t.Fatalf("errors %q, want MailboxFull naming slow", r.Errors)
	}
	// Exactly the accepted messages run, in order.
	refused := map[int]bool{}
	for _, i := range r.Refused {
		refused[i] = true
	}
	var want []int
	for i := 0; i < 10; i++ {
		if !refused[i] {
			want = append(want, i)
		}
	}
	if got := f.seen("slow", r.Sent); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("slow handled %v, want %v", got, want)
	}
	if p := f.proc("slow"); p.MailboxDepth() != 0 || p.MailboxBytes() != 0 {
		t.Errorf("slow's mailbox after draining: %d messages, %d bytes", p.MailboxDepth(), p.MailboxBytes())
	}
}

func TestMailbox_DropOldestKeepsTheNewest(t *testing.T) {
	f := slowPair(t, mailbox.Limits{Messages: 3, Overflow: mailbox.DropOldest}, mailbox.Limits{})
	r := flood(f, map[string]any{"n": 10})
	if r.Sent != 10 {
		t.Fatalf("drop_oldest refused %v", r.Refused)
	}
	got := f.seen("slow", 10)
	// One message may have started its turn while the flood went on; of
	// the rest, the newest three are kept, in order.
	if s := fmt.Sprint(got); !strings.HasSuffix(s, "7 8 9]") || len(got) > 4 || (len(got) == 4 && got[0] >= 7) {
		t.Fatalf("slow handled %v, want the newest three after at most one early message", got)
	}
	if d := f.proc("slow").Dropped(); int(d)+len(got) != 10 {
		t.Fatalf("%d dropped and %d handled of 10", d, len(got))
	}
}

func TestMailbox_SenderQuotaPushesBack(t *testing.T) {
	// slow's mailbox is roomy; the flooder may keep only ~4 KiB in it.
	f := slowPair(t, mailbox.Limits{Messages: 1000}, mailbox.Limits{OutboxBytes: 4 << 10})
	r := flood(f, map[string]any{"n": 20, "pad": 1000})
	if r.Sent < 3 || r.Sent > 5 {
		t.Fatalf("sent %d of 20 1 KB messages under a 4 KiB quota", r.Sent)
	}
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "MailboxFull") || !strings.Contains(r.Errors[0], "flooder") {
		t.Fatalf("errors %q, want MailboxFull naming the flooder's quota", r.Errors)
	}
	// Once slow has taken them up, the quota is free again.
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if b := f.proc("flooder").OutboxBytes(); b != 0 {
			return fmt.Errorf("flooder still has %d bytes queued", b)
		}
		return nil
	})
	if r := flood(f, map[string]any{"n": 2, "pad": 1000}); r.Sent != 2 {
		t.Fatalf("after draining, sent %d of 2", r.Sent)
	}
}

func TestMailbox_CallRejectsWhenFull(t *testing.T) {
	slow := worker(t, "slow", slowJS)
	slow.Mailbox = mailbox.Limits{Messages: 1}
	caller := worker(t, "caller", `
export async function receive(msg, ctx) {
  const calls = [];
  for (let i = 0; i < 5; i++) calls.push(ctx.env.peer.call({i}).then(() => "ok", (e) => e.name));
  return await Promise.all(calls);
}`, actor.GrantSpec{Name: "peer", To: "slow", Rights: capability.Send})
	f := start(t, isolate.Limits{}, slow, caller)
	got := fmt.Sprint(f.mustCall("caller", map[string]any{}))
	if !strings.Contains(got, "MailboxFull") || !strings.HasPrefix(got, "[ok") {
		t.Fatalf("calls ended %s, want the first ok and later ones MailboxFull", got)
	}
}
