package actor_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
)

// redteam2ThrowerJS throws, on message k, the k-th of a set of values
// made to be costly or revealing for the host that describes the crash.
const redteam2ThrowerJS = `
const spin = () => { for (;;) {} };
let huge;
const big = () => (huge ??= "m".repeat(8 << 20));
const shapes = {
  loopingMessage: () => { const e = new Error("x"); Object.defineProperty(e, "message", { get: spin }); return e; },
  loopingName: () => ({ get name() { spin(); }, message: "m" }),
  hugeMessage: () => { const e = new Error("x"); Object.defineProperty(e, "message", { get: big }); return e; },
  proxy: () => new Proxy({}, { get() { spin(); }, getPrototypeOf() { spin(); }, has() { spin(); } }),
  throwingProxy: () => new Proxy(new Error("p"), { get() { throw new Proxy({}, { get() { throw 1; } }); } }),
  rethrowingGetter: () => { const e = new Error("x"); Object.defineProperty(e, "name", { get() { throw shapes.loopingName(); } }); return e; },
  toStringTrap: () => ({ toString: spin, valueOf: spin, [Symbol.toPrimitive]: spin }),
  causeChain: () => { let e = new Error("leaf"); for (let i = 0; i < 100000; i++) e = new Error("c" + i, { cause: e }); return e; },
  aggregate: () => new AggregateError(Array.from({ length: 100000 }, (_, i) => new Error("e" + i)), "many"),
  deepStack: () => { const f = (n) => n === 0 ? new Error("deep") : f(n - 1); return f(1900); },
  nullProto: () => Object.create(null),
  symbol: () => Symbol("s"),
  bigString: big,
};
export function receive(msg, ctx) {
  if (msg === "ping") return "pong";
  throw shapes[msg]();
}`

// TestRedteam2_CrashReportsOfHostileThrows: whatever a tenant throws
// (getters that never return, proxies, an 8 MB message, 100,000-long
// cause chains and AggregateErrors, a deep stack), the crash is recorded
// with the reason error or cpu_limit, its text and stack are bounded, they
// name no host path or engine value, and the tenant restarts and answers.
func TestRedteam2_CrashReportsOfHostileThrows(t *testing.T) {
	shapes := []string{"loopingMessage", "loopingName", "hugeMessage", "proxy", "throwingProxy", "rethrowingGetter",
		"toStringTrap", "causeChain", "aggregate", "deepStack", "nullProto", "symbol", "bigString"}
	thrower := worker(t, "thrower", redteam2ThrowerJS)
	thrower.Limits = isolate.Limits{CPU: time.Second, Memory: 512 << 20}
	n := testnode.Start(t, actor.Options{}, storageRoot(thrower))
	p, _ := n.Lookup("thrower")
	wd, _ := os.Getwd()
	for k, shape := range shapes {
		if _, err := testnode.TryCall(t, n, "thrower", shape); err == nil {
			t.Fatalf("%s: the call answered", shape)
		}
		var pong string
		testnode.Call(t, n, "thrower", "ping", &pong) // the restarted incarnation
		cs := p.Crashes()
		if len(cs) != min(k+1, 10) {
			t.Fatalf("%s: %d crash reports, want %d", shape, len(cs), min(k+1, 10))
		}
		c := cs[len(cs)-1]
		text := fmt.Sprint(c.Err)
		t.Logf("%s: %s %.120q (%d bytes, stack %d bytes)", shape, c.Reason, text, len(text), len(c.Stack))
		if c.Reason != "error" && c.Reason != "cpu_limit" {
			t.Errorf("%s: reason %q", shape, c.Reason)
		}
		// Describing the thrown Proxy runs its spinning traps: the CPU
		// limit stops them, and that is the crash's reason (it was a Go
		// panic through the worker, reason error, before).
		if shape == "proxy" && (c.Reason != "cpu_limit" || strings.Contains(text, "go panic")) {
			t.Errorf("proxy: %s %q, want cpu_limit", c.Reason, text)
		}
		if len(text) > 9<<10 || len(c.Stack) > 17<<10+4<<10 {
			t.Errorf("%s: a crash report of %d bytes of text and %d of stack", shape, len(text), len(c.Stack))
		}
		for _, leak := range []string{"0x", "goja", wd, filepath.Dir(wd)} {
			if strings.Contains(text, leak) || strings.Contains(c.Stack, leak) {
				t.Errorf("%s: the report holds %q: %s\n%s", shape, leak, text, c.Stack)
			}
		}
	}
}
