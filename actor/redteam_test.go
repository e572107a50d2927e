package actor_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/storage"

	"github.com/vmihailenco/msgpack/v5"
)

// Hostile-tenant attacks on storage from JS: what a turn buffers on the
// host, what it can read, and what its errors say.

// redteamTxJS overwrites one key with the same 100 KB string inside a
// transaction: each put encodes a fresh copy on the host, and the
// transaction's undo log keeps every replaced one for a rollback.
const redteamTxJS = `
export function receive(msg, ctx) {
  if (msg === "ping") return "pong";
  const v = "x".repeat(100000);
  ctx.storage.transaction(() => { for (let i = 0; i < 1000; i++) ctx.storage.put("k", v); });
  return "done";
}`

// TestRedteam_StorageTransactionOverwritesHitMemoryLimit: 1000 overwrites
// hold 100 MB on the host in one turn; under a 16 MiB memory limit the
// turn must end with memory_limit, and the tenant's neighbour is unharmed.
func TestRedteam_StorageTransactionOverwritesHitMemoryLimit(t *testing.T) {
	attacker := worker(t, "attacker", redteamTxJS)
	attacker.Storage = true
	attacker.Limits = isolate.Limits{Memory: 16 << 20, CPU: 10 * time.Second}
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()},
		storageRoot(attacker, counterSpec(t)))
	data, err := testnode.TryCall(t, n, "attacker", "go")
	if !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("1000 overwrites of 100 KB in a transaction under a 16 MiB limit answered %q (%v), want a crash", data, err)
	}
	// The restarted attacker answers, by which time its crash is on record.
	var pong string
	testnode.Call(t, n, "attacker", "ping", &pong)
	if pong != "pong" {
		t.Fatalf("the restarted attacker answered %q", pong)
	}
	p, ok := n.Lookup("attacker")
	if !ok {
		t.Fatal("no attacker")
	}
	cs := p.Crashes()
	if len(cs) != 1 || cs[0].Reason != "memory_limit" {
		for _, c := range cs {
			t.Logf("crash: %s %v", c.Reason, c.Err)
		}
		t.Fatalf("%d crashes, want one memory_limit", len(cs))
	}
	if got := callInt(t, n, "counter", "incr"); got != 1 {
		t.Fatalf("the neighbour's counter answered %d, want 1", got)
	}
}

// redteamProbeJS tries to reach another tenant's keys and the edges of
// the documented limits, and reports what each attempt did.
const redteamProbeJS = `
export function receive(msg, ctx) {
  const s = ctx.storage;
  if (msg === "plant") { s.put("secret", "victim-data"); return "ok"; }
  const out = {};
  const probe = (name, f) => {
    try { out[name] = {ok: JSON.stringify(f() ?? null)}; }
    catch (e) { out[name] = {err: e.name + ": " + e.message}; }
  };
  probe("list", () => s.list().map(kv => kv[0]));
  probe("listRev", () => s.list({reverse: true, limit: 10000}).map(kv => kv[0]));
  probe("get", () => s.get("secret"));
  probe("dotdot", () => s.get("../victim/secret"));
  probe("abs", () => s.get("/victim/secret"));
  probe("nul", () => s.get("\u0000secret"));
  probe("many", () => s.get(["secret", "../victim/secret", "victim/secret"]));
  probe("keyMax", () => { s.put("k".repeat(2048), 1); return s.get("k".repeat(2048)); });
  probe("keyOver", () => s.put("k".repeat(2049), 1));
  probe("keyUTF8Over", () => s.put("\u00e9".repeat(1025), 1));
  probe("valueOver", () => s.put("v", "x".repeat(128 * 1024)));
  probe("batchOver", () => { const o = {}; for (let i = 0; i < 129; i++) o["b" + i] = i; s.put(o); });
  probe("getOver", () => s.get(Array.from({length: 129}, (_, i) => "b" + i)));
  probe("limitOver", () => s.list({limit: 10001}));
  probe("limitNaN", () => s.list({limit: NaN}));
  probe("keyType", () => s.put({toString() { return "x"; }, length: 1}, 1));
  probe("symbolKey", () => s.get(Symbol("k")));
  probe("cap", () => s.put("c", ctx.self));
  probe("deep", () => { let v = []; for (let i = 0; i < 10000; i++) v = [v]; s.put("d", v); });
  probe("cycle", () => { const v = {}; v.v = v; s.put("cy", v); });
  probe("proxy", () => s.put("p", new Proxy({}, {ownKeys() { throw new Error("trap"); }})));
  probe("fn", () => s.put("f", () => 1));
  probe("listBad", () => s.list({prefix: {toString() { throw new Error("toString"); }}}));
  return out;
}`

// TestRedteam_StorageIsolationAndLimits: a tenant sees only its own keys
// whatever it asks for, the documented limits hold at their edges, and
// no refusal leaks a host path, a Go type or a heap address.
func TestRedteam_StorageIsolationAndLimits(t *testing.T) {
	victim := worker(t, "victim", redteamProbeJS)
	victim.Storage = true
	attacker := worker(t, "attacker", redteamProbeJS)
	attacker.Storage = true
	attacker.Limits = isolate.Limits{CPU: 10 * time.Second} // the probe's 10000-deep value is slow under -race
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, storageRoot(victim, attacker))
	var ok string
	testnode.Call(t, n, "victim", "plant", &ok)
	var out map[string]map[string]string
	data, err := testnode.TryCall(t, n, "attacker", "probe")
	if err != nil {
		t.Fatal(err)
	}
	if err := msgpack.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	for name, r := range out {
		if strings.Contains(r["ok"], "victim") {
			t.Errorf("%s read the victim's data: %s", name, r["ok"])
		}
	}
	for _, name := range []string{"list", "listRev"} {
		var keys []string
		if err := json.Unmarshal([]byte(out[name]["ok"]), &keys); err != nil {
			t.Fatalf("%s: %v (%v)", name, out[name], err)
		}
		for _, k := range keys {
			if k == "secret" {
				t.Errorf("%s listed the victim's key", name)
			}
		}
	}
	for _, name := range []string{"get", "dotdot", "abs", "nul"} {
		if out[name]["ok"] != "null" {
			t.Errorf("%s = %v, want undefined (null in JSON)", name, out[name])
		}
	}
	if out["keyMax"]["ok"] != "1" {
		t.Errorf("a key of exactly 2048 bytes: %v", out["keyMax"])
	}
	wantErr := map[string]string{
		"keyOver": "RangeError", "keyUTF8Over": "RangeError", "valueOver": "RangeError",
		"batchOver": "RangeError", "getOver": "RangeError", "limitOver": "RangeError",
		"limitNaN": "RangeError", "symbolKey": "TypeError", "cap": "DataCloneError",
		"deep": "", "cycle": "", "proxy": "", "fn": "DataCloneError", "listBad": "",
	}
	leak := regexp.MustCompile(`0x[0-9a-f]{6,}|/work/|\.go:\d|\*storage\.|goroutine|runtime\.`)
	for name, want := range wantErr {
		e := out[name]["err"]
		if e == "" {
			t.Errorf("%s did not throw: %v", name, out[name])
			continue
		}
		if want != "" && !strings.HasPrefix(e, want+":") {
			t.Errorf("%s threw %q, want a %s", name, e, want)
		}
		if leak.MatchString(e) {
			t.Errorf("%s's error leaks host detail: %q", name, e)
		}
	}
	var pong string
	testnode.Call(t, n, "victim", "plant", &pong)
}

// redteamNestJS nests storage.transaction as deep as the stack limit
// allows: every level is a Go call that re-enters the runtime.
const redteamNestJS = `
export function receive(msg, ctx) {
  if (msg === "ping") return "pong";
  let depth = 0;
  const go = () => { depth++; ctx.storage.put("d", depth); ctx.storage.transaction(go); };
  try { ctx.storage.transaction(go); } catch (e) { return e.name + " at " + depth; }
  return "no limit";
}`

// TestRedteam_StorageTransactionNesting: at the largest stack limit the
// manifest allows, nesting transactions (each level a Go call that
// re-enters the runtime) ends at the JS stack limit, not in a Go stack
// overflow, which would be fatal to the node; the actor answers after.
func TestRedteam_StorageTransactionNesting(t *testing.T) {
	attacker := worker(t, "attacker", redteamNestJS)
	attacker.Storage = true
	attacker.Limits = isolate.Limits{Stack: 100000, CPU: 2 * time.Minute, Memory: 1 << 30} // 12 s of CPU under the race detector
	n := testnode.Start(t, actor.Options{Storage: storage.NewMemory()}, storageRoot(attacker))
	c, err := n.Capability("attacker", capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	// The race detector makes 100000 levels take many seconds: a safety
	// stop, not a margin.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var got string
	err = n.Call(ctx, c, "go", &got)
	if err != nil && !errors.Is(err, isolate.ErrCalleeCrashed) {
		t.Fatalf("nested transactions: %v", err)
	}
	if err == nil && !strings.HasPrefix(got, "RangeError at ") {
		t.Fatalf("nested transactions answered %q, want a RangeError", got)
	}
	var pong string
	testnode.Call(t, n, "attacker", "ping", &pong)
	if pong != "pong" {
		t.Fatalf("afterwards the attacker answered %q", pong)
	}
	// Through the native frames the overflow is not catchable by the
	// script: the turn crashes, naming it. Either way the node lives.
	p, _ := n.Lookup("attacker")
	for _, c := range p.Crashes() {
		if !strings.Contains(c.Err.Error(), "Maximum call stack size exceeded") {
			t.Errorf("crash %s: %.200v, want the stack limit named", c.Reason, c.Err)
		}
	}
}
