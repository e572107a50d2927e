package isolate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// Memory that only a timer's callback holds is the script's: stashing
// 8 MiB per turn in setTimeout closures ends the incarnation with
// memory_limit once it holds its limit, not later.
func TestAcctMemory_TimerCallbacksAreMeasured(t *testing.T) {
	const limit = 32 << 20
	iso, _ := newIsolate(t, `export function receive(msg) {
		const big = new Uint8Array(8 << 20);
		big[0] = 1;
		setTimeout(() => big.length, 86400000);
		return 1;
	}`, isolate.Limits{Memory: limit, CPU: 5 * time.Second})
	turns := 0
	for turns < 20 {
		turns++
		if o := turn(t, iso, 1); o.Crash != nil {
			if !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
				t.Fatalf("turn %d: %v, want memory_limit", turns, o.Crash)
			}
			break
		}
	}
	// Within 10 %: three 8 MiB buffers fit in 32 MiB, the fourth turn's
	// takes the isolate over it.
	if want := limit / (8 << 20); turns != want {
		t.Fatalf("memory_limit in turn %d, each keeping 8 MiB; want turn %d (limit %d MiB)", turns, want, limit>>20)
	}
}

// The same holds for values passed as a timer's arguments and for the
// callbacks waiting on a promise the host will settle.
func TestAcctMemory_TimerArgsAndPendingPromises(t *testing.T) {
	for _, tc := range []struct{ name, keep string }{
		{"args", `setTimeout((b) => b.length, 86400000, big);`},
		{"promise", `ctx.self.call({}).then(() => big.length, () => big.length);`},
		{"promiseFunction", `ctx.self.call({}).then(function () { return big.length; });`},
		{"promiseMethod", `ctx.self.call({}).then({ m() { return big.length; } }.m);`},
		{"promiseAsync", `ctx.self.call({}).then(async () => big.length);`},
		{"await", `(async () => { await ctx.self.call({}); return big.length; })();`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iso, _ := newIsolate(t, `export function receive(msg, ctx) {
				const big = new Uint8Array(8 << 20);
				`+tc.keep+`
				return 1;
			}`, isolate.Limits{Memory: 32 << 20, CPU: 5 * time.Second})
			for turns := 1; turns <= 20; turns++ {
				if o := turn(t, iso, 1); o.Crash != nil {
					if !errors.Is(o.Crash, isolate.ErrMemoryLimit) || turns != 4 {
						t.Fatalf("turn %d: %v, want memory_limit in turn 4", turns, o.Crash)
					}
					return
				}
			}
			t.Fatal("20 turns kept 160 MiB under a 32 MiB limit")
		})
	}
}

// Parked sendAfter messages are held by the host for the process: their
// bytes count against its memory limit when they are parked, and are
// refunded when they are cancelled.
func TestAcctMemory_ParkedMessagesAreCharged(t *testing.T) {
	const limit = 16 << 20
	iso, _ := newIsolate(t, `
	const s = "x".repeat(1 << 20);
	const refs = [];
	export function receive(msg, ctx) {
		if (msg === "cancel") { for (const r of refs) ctx.cancelTimer(r); refs.length = 0; return 0; }
		for (let k = 0; k < msg; k++) refs.push(ctx.sendAfter(ctx.self, { s, k }, 86400000));
		return refs.length;
	}`, isolate.Limits{Memory: limit, CPU: 5 * time.Second, MessageBytes: 2 << 20})
	// 12 MiB parked, then cancelled: the room comes back.
	for round := 0; round < 3; round++ {
		if got := answer(t, turn(t, iso, 12)); got != int8(12) {
			t.Fatalf("round %d: parked %v, want 12", round, got)
		}
		if u := iso.MemoryUsage(); u < 12<<20 || u > limit {
			t.Fatalf("round %d: usage %d with 12 MiB parked", round, u)
		}
		answer(t, turn(t, iso, "cancel"))
	}
	o := turn(t, iso, 100)
	if !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
		t.Fatalf("parking 100 MiB under a 16 MiB limit: %v, want memory_limit", o.Crash)
	}
}

// A 1.5M-deep nested array reachable only from a timer is measured (or
// refused) without overflowing the Go stack.
func TestAcctMemory_DeepValueFromATimer(t *testing.T) {
	iso, _ := newIsolate(t, `export function receive(msg) {
		let a = [];
		for (let k = 0; k < 1500000; k++) a = [a];
		setTimeout(() => a, 86400000);
		try { String(a); } catch (e) {}
		return 1;
	}`, isolate.Limits{Memory: 512 << 20, CPU: 30 * time.Second})
	o := turn(t, iso, 1)
	if o.Crash != nil && !errors.Is(o.Crash, isolate.ErrMemoryLimit) && !errors.Is(o.Crash, isolate.ErrCPULimit) {
		var je *isolate.JSError
		if !errors.As(o.Crash, &je) {
			t.Fatalf("deep value: %v", o.Crash)
		}
	}
	if o.Crash == nil && iso.MemoryUsage() < 1500000*8 {
		t.Fatalf("a 1.5M-deep array measured at %d bytes", iso.MemoryUsage())
	}
}

// Host objects describe themselves without engine internals, and stack
// traces name the script by its file name only.
func TestAcctLeaks_HostObjectsAndStacks(t *testing.T) {
	s, err := isolate.Compile("/srv/secret/tenants/acme/app.js", []byte(`export function receive(msg, ctx) {
		const out = {};
		const tries = {
			env: () => String(ctx.env), envConcat: () => ctx.env + "", envTemplate: () => `+"`${ctx.env}`"+`,
			envTag: () => Object.prototype.toString.call(ctx.env), ctx: () => String(ctx),
			self: () => String(ctx.self), peer: () => String(ctx.env.peer), json: () => JSON.stringify(ctx),
			stack: () => new Error("x").stack, envKeys: () => Object.keys(ctx.env).join(),
			thrown: () => { try { null.x } catch (e) { return e.stack } },
		};
		for (const k in tries) { try { out[k] = String(tries[k]()); } catch (e) { out[k] = "threw " + e.name + ": " + e.message; } }
		return out;
	}`))
	if err != nil {
		t.Fatal(err)
	}
	iso, err := isolate.New(s, isolate.Config{Name: "t", Self: capability.New(target{1}, capability.All),
		Host: &fakeHost{}, Env: []isolate.Grant{{Name: "peer", Cap: capability.New(target{2}, capability.Send)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer iso.Close()
	got := answer(t, turn(t, iso, 1)).(map[string]any)
	for k, want := range map[string]string{
		"env": "[object Env]", "envConcat": "[object Env]", "envTemplate": "[object Env]", "envTag": "[object Env]",
		"ctx": "[object Context]", "self": "[object Capability]", "peer": "[object Capability]",
		"json": `{"self":{},"env":{"peer":{}}}`, "envKeys": "peer",
	} {
		if got[k] != want {
			t.Errorf("%s: %q, want %q", k, got[k], want)
		}
	}
	for k, v := range got {
		s := v.(string)
		if strings.Contains(s, "0x") || strings.Contains(s, "/srv") || strings.Contains(s, "goja") {
			t.Errorf("%s leaks host details: %q", k, s)
		}
	}
	if !strings.Contains(got["stack"].(string), "app.js:") {
		t.Errorf("stack %q does not name the script", got["stack"])
	}
}

// A crash holds strings only: a thrown error becomes a JSError with its
// name, message and stack, and a stack overflow is ErrStackOverflow.
func TestAcctErrors_PlainAndTyped(t *testing.T) {
	iso, _ := newIsolate(t, `export function receive(msg) {
		if (msg === "deep") { const f = (n) => f(n + 1) + 1; return f(0); }
		const e = new RangeError("too far"); throw e;
	}`, isolate.Limits{})
	var je *isolate.JSError
	if o := turn(t, iso, "throw"); !errors.As(o.Crash, &je) || je.Name != "RangeError" || je.Message != "RangeError: too far" || !strings.Contains(je.Stack, "test.js:") {
		t.Fatalf("throw: %#v", o.Crash)
	}
	if errors.Unwrap(je) != nil {
		t.Fatalf("a thrown error unwraps to %v", errors.Unwrap(je))
	}
	iso2, _ := newIsolate(t, `export function receive(msg) { const f = (n) => f(n + 1) + 1; return f(0); }`, isolate.Limits{})
	if o := turn(t, iso2, 1); !errors.Is(o.Crash, isolate.ErrStackOverflow) {
		t.Fatalf("recursion: %v, want ErrStackOverflow", o.Crash)
	}
}
