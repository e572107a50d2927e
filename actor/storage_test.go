package actor_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/storage/storagetest"
	"github.com/cloister-rt/cloister/supervisor"
)

// storedCounterJS keeps a counter in storage and tells its peer, if any, about
// every increment.
const storedCounterJS = `
export function receive(msg, ctx) {
  if (msg === "boom") throw new Error("boom");
  if (msg === "get") return ctx.storage.get("n") ?? 0;
  const n = (ctx.storage.get("n") ?? 0) + 1;
  ctx.storage.put("n", n);
  if (ctx.env.peer) ctx.env.peer.send("n=" + n);
  return n;
}`

// storedRecorderJS keeps what it receives and answers "seen" with it.
const storedRecorderJS = `
const seen = [];
export function receive(msg, ctx) {
  if (msg === "seen") return seen;
  seen.push(msg);
}`

func storageRoot(children ...actor.ChildSpec) actor.ChildSpec {
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: children}
}

func counterSpec(t *testing.T, grants ...actor.GrantSpec) actor.ChildSpec {
	c := worker(t, "counter", storedCounterJS, grants...)
	c.Storage = true
	return c
}

func callInt(t *testing.T, n *actor.Node, path string, msg any) int {
	t.Helper()
	var v int
	testnode.Call(t, n, path, msg, &v)
	return v
}

// TestStorage_OutlivesIncarnationsAndNodes: a crash and a node restart
// find the data again; it belongs to the slot, not the incarnation.
func TestStorage_OutlivesIncarnationsAndNodes(t *testing.T) {
	dir := t.TempDir()
	b, err := storage.OpenPebble(dir, storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, actor.Options{Storage: b}, storageRoot(counterSpec(t)))
	for i := 1; i <= 3; i++ {
		if got := callInt(t, n, "counter", "incr"); got != i {
			t.Fatalf("increment %d answered %d", i, got)
		}
	}
	if _, err := testnode.TryCall(t, n, "counter", "boom"); !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("boom: %v", err)
	}
	if got := callInt(t, n, "counter", "get"); got != 3 {
		t.Fatalf("after a crash the counter reads %d, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testnode.ShutdownTimeout)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = storage.OpenPebble(dir, storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n2 := testnode.Start(t, actor.Options{Storage: b}, storageRoot(counterSpec(t)))
	if got := callInt(t, n2, "counter", "incr"); got != 4 {
		t.Fatalf("after a node restart the counter went to %d, want 4", got)
	}
	if err := n2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStorage_OutputGate: while commits fail, a turn's send and its
// answer never leave the process, the incarnation crashes with reason
// storage, and nothing is written; once commits work again the next
// turn's send is the first the peer sees.
func TestStorage_OutputGate(t *testing.T) {
	f := &storagetest.Faulty{Backend: storage.NewMemory()}
	var mu sync.Mutex
	var crashes []string
	n := testnode.New(t, actor.Options{Storage: f})
	n.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok && c.Crash.Path == "counter" {
			mu.Lock()
			crashes = append(crashes, c.Crash.Reason)
			mu.Unlock()
		}
	})
	rec := worker(t, "rec", storedRecorderJS)
	if err := n.Start(storageRoot(rec, counterSpec(t, actor.GrantSpec{Name: "peer", To: "rec", Rights: capability.Send}))); err != nil {
		t.Fatal(err)
	}
	f.FailCommits.Store(true)
	_, err := testnode.TryCall(t, n, "counter", "incr")
	if !errors.Is(err, isolate.ErrCalleeCrashed) || !strings.Contains(err.Error(), "storage") {
		t.Fatalf("a turn whose commit failed answered %v; want a crash with reason storage", err)
	}
	testkit.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(crashes) == 0 || crashes[0] != actor.ReasonStorage {
			return fmt.Errorf("crashes %q, want one with reason storage", crashes)
		}
		return nil
	})
	f.FailCommits.Store(false)
	if got := callInt(t, n, "counter", "incr"); got != 1 {
		t.Fatalf("after a failed commit the counter went to %d, want 1: the failed turn's write was kept", got)
	}
	// Sends from one process to another arrive in order: had the failed
	// turn's "n=1" escaped, the peer would have it before this one.
	var seen []string
	testkit.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		seen = nil
		testnode.Call(t, n, "rec", "seen", &seen)
		if len(seen) == 0 {
			return errors.New("the peer has not received the committed turn's message")
		}
		return nil
	})
	if !reflect.DeepEqual(seen, []string{"n=1"}) {
		t.Fatalf("the peer saw %q; want only the committed turn's message", seen)
	}
	if f.Commits.Load() != 1 {
		t.Fatalf("%d commits succeeded, want 1", f.Commits.Load())
	}
}

// TestStorage_ReadOnlyTurnsDoNotCommit: a turn that writes nothing does
// not touch the backend, and its answer is released all the same.
func TestStorage_ReadOnlyTurnsDoNotCommit(t *testing.T) {
	f := &storagetest.Faulty{Backend: storage.NewMemory()}
	n := testnode.Start(t, actor.Options{Storage: f}, storageRoot(counterSpec(t)))
	f.FailCommits.Store(true)
	for i := 0; i < 3; i++ {
		if got := callInt(t, n, "counter", "get"); got != 0 {
			t.Fatalf("get = %d", got)
		}
	}
}

// TestStorage_RefusedWithoutBackend: a process granted storage on a node
// without a backend does not start.
func TestStorage_RefusedWithoutBackend(t *testing.T) {
	n := testnode.New(t, actor.Options{})
	err := n.Start(storageRoot(counterSpec(t)))
	if err == nil || !strings.Contains(err.Error(), "storage") {
		t.Fatalf("start = %v, want a storage refusal", err)
	}
}

// TestStorage_TerminateWritesAreCommitted: what terminate writes on an
// orderly stop is committed.
func TestStorage_TerminateWritesAreCommitted(t *testing.T) {
	b := storage.NewMemory()
	c := worker(t, "t", `
export function receive(msg, ctx) { return ctx.storage.get("stopped") ?? "no"; }
export function terminate(reason, ctx) { ctx.storage.put("stopped", reason); }`)
	c.Storage = true
	n := testnode.Start(t, actor.Options{Storage: b}, storageRoot(c))
	var got string
	testnode.Call(t, n, "t", "get", &got)
	if got != "no" {
		t.Fatalf("before the stop: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testnode.ShutdownTimeout)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	n2 := testnode.Start(t, actor.Options{Storage: b}, storageRoot(c))
	testnode.Call(t, n2, "t", "get", &got)
	if got != actor.ReasonShutdown {
		t.Fatalf("after a restart the worker reads %q, want the reason its terminate stored", got)
	}
}

// TestStorage_ReadOnlyViewThroughInspect: another process sees an owner's
// stored data only as the owner's inspect() shows it, to holders of the
// inspect right; what inspect() writes is not kept, and a holder of send
// alone cannot inspect.
func TestStorage_ReadOnlyViewThroughInspect(t *testing.T) {
	owner := worker(t, "owner", `
export function receive(msg, ctx) {
  if (msg === "stored") return ctx.storage.list().map(([k]) => k);
  ctx.storage.put("public/a", 1);
  ctx.storage.put("public/b", 2);
  ctx.storage.put("secret", 3);
  return "ok";
}
export function inspect(ctx) {
  ctx.storage.put("written-by-inspect", true);
  return Object.fromEntries(ctx.storage.list({prefix: "public/"}));
}`)
	owner.Storage = true
	reader := worker(t, "reader", `
export async function receive(msg, ctx) {
  try { return await ctx.env[msg].inspect(); } catch (e) { return e.name + ": " + e.message; }
}`,
		actor.GrantSpec{Name: "viewer", To: "owner", Rights: capability.Inspect},
		actor.GrantSpec{Name: "sender", To: "owner", Rights: capability.Send})
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, storageRoot(owner, reader))
	var ok string
	testnode.Call(t, n, "owner", "put", &ok)
	var view map[string]any
	testnode.Call(t, n, "reader", "viewer", &view)
	if !reflect.DeepEqual(view, map[string]any{"public/a": int8(1), "public/b": int8(2)}) {
		t.Fatalf("the view through inspect = %#v", view)
	}
	var denied string
	testnode.Call(t, n, "reader", "sender", &denied)
	if !strings.Contains(denied, "inspect") {
		t.Fatalf("inspect with a send-only capability answered %q", denied)
	}
	var keys []string
	testnode.Call(t, n, "owner", "stored", &keys)
	if !reflect.DeepEqual(keys, []string{"public/a", "public/b", "secret"}) {
		t.Fatalf("stored keys after inspect() wrote: %v", keys)
	}
}

// TestStorage_CPULimitAfterCommits: a worker's goroutine leaves its
// locked thread while a commit waits and may come back on another; the
// CPU limit still ends a runaway turn that follows commits in the same
// run of its mailbox, and what those turns committed stays.
func TestStorage_CPULimitAfterCommits(t *testing.T) {
	b, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const spinJS = `
export function receive(msg, ctx) {
  if (msg === "spin") { for (;;) {} }
  if (msg === "get") return ctx.storage.get("n") ?? 0;
  ctx.storage.put("n", (ctx.storage.get("n") ?? 0) + 1);
}`
	c := worker(t, "spinner", spinJS)
	c.Storage, c.Limits = true, isolate.Limits{CPU: 200 * time.Millisecond}
	n := testnode.Start(t, actor.Options{Storage: b}, storageRoot(c))
	const turns = 20
	for i := 0; i < turns; i++ {
		testnode.Send(t, n, "spinner", "incr") // queued behind one another: one run of turns
	}
	_, err = testnode.TryCall(t, n, "spinner", "spin")
	if !errors.Is(err, isolate.ErrCalleeCrashed) || !strings.Contains(err.Error(), "cpu_limit") {
		t.Fatalf("a runaway turn after %d committed ones answered %v; want a crash with reason cpu_limit", turns, err)
	}
	if got := callInt(t, n, "spinner", "get"); got != turns {
		t.Fatalf("after the crash the counter reads %d, want %d", got, turns)
	}
}

// TestStorage_GatedEffectsAcrossTurns: the sends of many committed turns,
// from one to more than the gate keeps a buffer for, reach the peer once
// each and in order, and a call held by the gate is made and answered.
func TestStorage_GatedEffectsAcrossTurns(t *testing.T) {
	rec := worker(t, "rec", storedRecorderJS)
	burst := worker(t, "burst", `
export async function receive(msg, ctx) {
  const n = (ctx.storage.get("n") ?? 0) + 1;
  ctx.storage.put("n", n);
  if (msg === "ask") return (await ctx.env.peer.call("seen")).length;
  for (let k = 0; k < msg; k++) ctx.env.peer.send(n + "." + k);
  return n;
}`, actor.GrantSpec{Name: "peer", To: "rec", Rights: capability.Send})
	burst.Storage = true
	b, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := testnode.Start(t, actor.Options{Storage: b}, storageRoot(rec, burst))
	var want []string
	for i, count := range []int{3, 100, 1, 0, 70, 2} {
		if got := callInt(t, n, "burst", count); got != i+1 {
			t.Fatalf("turn %d answered %d", i+1, got)
		}
		for k := 0; k < count; k++ {
			want = append(want, fmt.Sprintf("%d.%d", i+1, k))
		}
	}
	// Sends from one process to another arrive in order, and the call
	// was made after every send above.
	if got := callInt(t, n, "burst", "ask"); got != len(want) {
		t.Fatalf("the peer had %d messages when the held call reached it, want %d", got, len(want))
	}
	var seen []string
	testnode.Call(t, n, "rec", "seen", &seen)
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("the peer saw %d messages %q…, want %d", len(seen), seen[:min(len(seen), 8)], len(want))
	}
}
