package isolate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// TestBuiltins_WrappersKeepTheirAttributes: a wrapped builtin is writable,
// configurable and not enumerable, like the original, so for-in over an
// array or a string lists only its elements.
func TestBuiltins_WrappersKeepTheirAttributes(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{})
	for code, want := range map[string]string{
		`(() => { const ks = []; for (const k in [7]) ks.push(k); for (const k in "ab") ks.push(k); for (const k in new Float64Array(1)) ks.push(k); return ks.join() })()`: "0,0,1,0",
		`Object.keys(globalThis).filter(k => !["console", "setTimeout", "clearTimeout"].includes(k)).join()`:                                                                "",
		`(() => {
			const ta = Object.getPrototypeOf(Int8Array.prototype);
			const props = [[Array.prototype, "fill", "join", "concat", "sort"],
				[String.prototype, "repeat", "padStart", "padEnd", "concat"],
				[JSON, "parse", "stringify"], [RegExp.prototype, "exec", "test"], [ta, "sort"],
				[Uint8Array.prototype, "constructor"], [ArrayBuffer.prototype, "constructor"],
				[Function.prototype, "constructor"],
				[globalThis, "eval", "Function", "JSON", "ArrayBuffer", "Float64Array", "BigUint64Array"]];
			const bad = [];
			for (const [o, ...names] of props) for (const n of names) {
				const d = Object.getOwnPropertyDescriptor(o, n);
				if (!d || !d.writable || !d.configurable || d.enumerable) bad.push(n);
				const f = d && d.value;
				if (typeof f !== "function") continue;
				const nd = Object.getOwnPropertyDescriptor(f, "name");
				if (!nd || nd.writable || !nd.configurable || nd.enumerable) bad.push(n + ".name");
			}
			return bad.join();
		})()`: "",
		`Array.prototype.join.name + Array.prototype.join.length + JSON.stringify.length + Float64Array.length + eval.length`: "join1331",
		`"" + Float64Array.BYTES_PER_ELEMENT + Object.getOwnPropertyNames(Int8Array).includes("from")`:                        "8false",
	} {
		if got := answer(t, turn(t, iso, map[string]any{"code": code})); got != want {
			t.Errorf("%s = %v, want %v", code, got, want)
		}
	}
}

// TestBuiltins_DeferredGuardsCannotBeBypassed: the typed arrays and JSON are
// wrapped on first use (lazy.go); every way to reach them finds the wrapper.
func TestBuiltins_DeferredGuardsCannotBeBypassed(t *testing.T) {
	const limit = 16 << 20
	big := `(2 ** 29)`
	for name, tc := range map[string]struct {
		setup, bomb string
		msg         map[string]any
	}{
		"global":           {bomb: `new Float64Array(` + big + `)`},
		"globalThis":       {bomb: `new globalThis["Uint" + "8Array"](` + big + `)`},
		"from a prototype": {bomb: `new (Object.getPrototypeOf(new Int8Array(1)).constructor)(` + big + `)`},
		"buffer":           {bomb: `new (new Int8Array(1).buffer.constructor)(` + big + `)`},
		"subclass":         {bomb: `new (class extends Uint16Array {})(` + big + `)`},
		"getter of the prototype object": {
			bomb: `new (Object.getOwnPropertyDescriptor(Object.getPrototypeOf(globalThis), "ArrayBuffer") || {value: ArrayBuffer}).value(` + big + `)`},
		"replaced before first use": {
			setup: `globalThis.Int8Array = 1; delete globalThis.ArrayBuffer; "ok"`,
			bomb:  `new (new Uint8Array(1).buffer.constructor)(` + big + `)`},
		"codec after the global was redefined": {
			setup: `Object.defineProperty(globalThis, "Uint8Array", {value: function (b) { globalThis.leak = b.constructor; throw new Error("no") }}); "ok"`,
			msg:   map[string]any{"code": "1", "bin": []byte{1, 2, 3}},
			bomb:  `new leak(` + big + `)`},
		"JSON": {bomb: `JSON.parse("[" + "1,".repeat(2e6) + "1]")`},
	} {
		t.Run(name, func(t *testing.T) {
			iso, _ := newIsolate(t, evalJS, isolate.Limits{Memory: limit, CPU: 5 * time.Second})
			if tc.setup != "" {
				if got := answer(t, turn(t, iso, map[string]any{"code": tc.setup})); got != "ok" {
					t.Fatalf("setup = %v", got)
				}
			}
			if tc.msg != nil {
				_ = turn(t, iso, tc.msg) // may fail to decode: that is the point
			}
			o := turn(t, iso, map[string]any{"code": tc.bomb})
			if o.Crash == nil {
				// One allocation larger than the limit is refused with a
				// RangeError before it happens (evalJS reports the throw).
				if s, _ := answer(t, o).(string); strings.HasPrefix(s, "threw RangeError") && strings.Contains(s, "over the memory limit") {
					return
				}
			}
			if !errors.Is(o.Crash, isolate.ErrMemoryLimit) {
				t.Fatalf("crash = %v (reply %v), want %v", o.Crash, o.Reply, isolate.ErrMemoryLimit)
			}
		})
	}
}

// TestBuiltins_DeferredGlobalsBehave: a deferred global can be read, replaced
// and shadowed like any other.
func TestBuiltins_DeferredGlobalsBehave(t *testing.T) {
	iso, _ := newIsolate(t, evalJS, isolate.Limits{})
	for _, c := range []struct{ code, want string }{
		{`typeof Float32Array + ("JSON" in globalThis)`, "functiontrue"},
		{`globalThis.Int32Array = 5; Int32Array`, "5"},
		{`Int32Array + new Int16Array(2).length`, "7"},
		{`JSON = {parse: () => 42}; JSON.parse("1")`, "42"},
		{`globalThis.hasOwnProperty("Float64Array") && globalThis.hasOwnProperty("eval")`, "true"},
		{`Object.getOwnPropertyNames(globalThis).filter(n => n === "Uint8Array").length`, "1"},
	} {
		if got := answer(t, turn(t, iso, map[string]any{"code": c.code})); got != c.want {
			t.Errorf("%s = %v, want %v", c.code, got, c.want)
		}
	}
}
