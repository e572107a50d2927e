package actor_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
)

// limitHits collects LimitHit events by limit name.
type limitHits struct {
	mu   sync.Mutex
	hits map[string]int
}

func watchLimits(n *actor.Node) *limitHits {
	l := &limitHits{hits: map[string]int{}}
	n.Subscribe(func(e actor.Event) {
		if h, ok := e.(actor.LimitHit); ok {
			l.mu.Lock()
			l.hits[h.Limit]++
			l.mu.Unlock()
		}
	})
	return l
}

// wait returns the count of limit once it has reached want: events arrive
// on the subscriber's goroutine, after the action that caused them.
func (l *limitHits) wait(t *testing.T, limit string, want int) int {
	t.Helper()
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if got := l.count(limit); got < want {
			return fmt.Errorf("%s refusals = %d, want %d", limit, got, want)
		}
		return nil
	})
	return l.count(limit)
}

func (l *limitHits) count(limit string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hits[limit]
}

func TestLimits_CallDepthEndsARecursionAcrossCalls(t *testing.T) {
	// A chain of 80 actors, each calling the next from its turn: a turn
	// awaiting its own call cannot be re-entered, so a chain needs distinct
	// actors, as a recursion across a pool of them would use.
	const links = 80
	src := `
export async function receive(msg, ctx) {
  if (!ctx.env.next) return msg.depth;
  try { return await ctx.env.next.call({depth: msg.depth + 1}, {timeout: 20000}); }
  catch (e) { if (e.name === "RangeError") return "cut at " + msg.depth; throw e; }
}`
	var chain []actor.ChildSpec
	for i := 0; i < links; i++ {
		var grants []actor.GrantSpec
		if i+1 < links {
			grants = append(grants, actor.GrantSpec{Name: "next", To: fmt.Sprintf("c%d", i+1), Rights: capability.Send})
		}
		chain = append(chain, worker(t, fmt.Sprintf("c%d", i), src, grants...))
	}
	f := start(t, isolate.Limits{}, chain...)
	hits := watchLimits(f.node)
	got := f.mustCall("c0", map[string]any{"depth": 1})
	// The Go call is depth 1; the call that would be 65 deep is refused.
	if want := fmt.Sprint("cut at ", actor.DefaultMaxCallDepth); fmt.Sprint(got) != want {
		t.Fatalf("chain answered %v, want %q", got, want)
	}
	if hits.wait(t, "call_depth", 1) != 1 {
		t.Errorf("call_depth refusals = %d, want 1", hits.count("call_depth"))
	}
	for i := 0; i < links; i++ {
		if p := f.proc(fmt.Sprintf("c%d", i)); p.Restarts() != 0 {
			t.Fatalf("c%d restarted", i)
		}
	}
}

func TestLimits_ProcessesPerNode(t *testing.T) {
	n, err := actor.NewNode(actor.Options{MaxProcesses: 4})
	if err != nil {
		t.Fatal(err)
	}
	hits := watchLimits(n)
	tmpl := worker(t, "tmpl", victimJS)
	pool := actor.ChildSpec{Name: "pool", Strategy: supervisor.NewOneForOne(3, time.Second), Template: &tmpl}
	boss := worker(t, "boss", `
export async function receive(msg, ctx) {
  const out = [];
  for (let i = 0; i < 3; i++) {
    try { await ctx.env.pool.spawn({}); out.push("ok"); } catch (e) { out.push(e.name); }
  }
  return out;
}`, actor.GrantSpec{Name: "pool", To: "pool", Rights: capability.Spawn})
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second), Children: []actor.ChildSpec{pool, boss}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown(t.Context()); _ = n.Wait() })
	f := &fixture{t: t, node: n}
	// root, pool and boss leave room for one child.
	if got := fmt.Sprint(f.mustCall("boss", map[string]any{})); got != "[ok RangeError RangeError]" {
		t.Fatalf("spawns = %s, want one and then RangeError", got)
	}
	if hits.wait(t, "processes", 2) != 2 {
		t.Errorf("processes refusals = %d, want 2", hits.count("processes"))
	}
	// A tree larger than the limit does not start.
	n2, _ := actor.NewNode(actor.Options{MaxProcesses: 2})
	err = n2.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{worker(t, "a", victimJS), worker(t, "b", victimJS)}})
	if err == nil || !strings.Contains(err.Error(), "too many processes") {
		t.Fatalf("Start of 3 processes under a limit of 2: %v", err)
	}
}

func TestLimits_MessageBytesAndTimersAreCounted(t *testing.T) {
	f := start(t, isolate.Limits{MessageBytes: 1024, Timers: 2}, worker(t, "w", `
export function receive(msg, ctx) {
  const out = [];
  try { ctx.self.send({pad: "x".repeat(2000)}); out.push("sent"); } catch (e) { out.push(e.name); }
  for (let i = 0; i < 3; i++) {
    try { setTimeout(() => {}, 60000); out.push("timer"); } catch (e) { out.push(e.name); }
  }
  return out;
}`))
	hits := watchLimits(f.node)
	if got := fmt.Sprint(f.mustCall("w", map[string]any{})); got != "[DataCloneError timer timer RangeError]" {
		t.Fatalf("got %s", got)
	}
	if hits.wait(t, "message_bytes", 1) != 1 || hits.wait(t, "timers", 1) != 1 {
		t.Errorf("refusals: message_bytes %d, timers %d", hits.count("message_bytes"), hits.count("timers"))
	}
}
