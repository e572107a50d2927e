package isolate

import (
	"math/big"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestBigInt_GojaLayout fails loudly on a goja upgrade that moves what the
// BigInt guards read in place: the big.Int inside a BigInt primitive, and
// the call function of a native function built from a template.
func TestBigInt_GojaLayout(t *testing.T) {
	if err := bigLayoutErr(); err != nil {
		t.Fatal(err)
	}
	rt := goja.New()
	v, err := rt.RunString("3n ** 70n")
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Exp(big.NewInt(3), big.NewInt(70), nil)
	if x := bigOf(v); x == nil || x.Cmp(want) != 0 {
		t.Fatalf("bigOf(3n ** 70n) = %v, want %v", x, want)
	}
	if bigOf(rt.ToValue(3)) != nil || bigOf(rt.ToValue("3")) != nil {
		t.Fatal("bigOf found a BigInt in a number or a string")
	}
	f, ok := rt.Get("BigInt").(*goja.Object)
	if !ok {
		t.Fatal("no BigInt global")
	}
	p, err := templatedCall(f)
	if err != nil || *p == nil {
		t.Fatalf("BigInt's call function: %v", err)
	}
	if r := (*p)(goja.FunctionCall{Arguments: []goja.Value{rt.ToValue(7)}}); r.String() != "7" {
		t.Fatalf("BigInt's call function called directly = %v, want 7", r)
	}
}

// TestBigInt_OnlyScriptsThatNameItAreRewritten: a script that never names
// BigInt is compiled as it is (its operators cost nothing more); one that
// does, by a literal, a name, a property or a string, is rewritten.
func TestBigInt_OnlyScriptsThatNameItAreRewritten(t *testing.T) {
	for _, c := range []struct {
		src  string
		want bool
	}{
		{`export function receive(m) { return m.a * m.b << 2; }`, false},
		{`export function receive(m) { return globalThis[m.name]; }`, false},
		{`export function receive(m) { return 3n; }`, true},
		{`export function receive(m) { return BigInt(m.a); }`, true},
		{`export function receive(m) { return new BigUint64Array(1); }`, true},
		{`export function receive(m) { return m.view.getBigInt64(0); }`, true},
		{"export function receive(m) { return globalThis[`BigInt`]; }", true},
		{`export function receive(m) { return globalThis["BigInt64Array"]; }`, true},
	} {
		s, err := Compile("x.js", []byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.needs&needBigInt != 0; got != c.want {
			t.Errorf("%s: rewritten = %v, want %v", c.src, got, c.want)
		}
	}
}

// A store through super whose receiver is a BigInt typed array, to one of
// its elements, is refused (goja would parse a string value in one
// piece); every other store through super behaves as in goja, its key
// converted once.
func TestBigInt_SuperStores(t *testing.T) {
	same := []string{
		`(() => { const log = []; const k = { toString() { log.push("k"); return "p"; } }; const o = { __proto__: {}, m(v) { super[k] = v; return this.p; } }; return o.m(3) + log.join(); })()`,
		`(() => { const o = { m(v) { super[0] = v; super[1] += v; [super[2]] = [v]; for (super[3] of [v]); return JSON.stringify(this); } }; return o.m(4); })()`,
		`(() => { class T extends Float64Array { put(v) { super[0] = v; super[1] += v; return this.join(); } } return new T(2).put("7"); })()`,
		`(() => { class T extends BigInt64Array { put(v) { super.x = v; super["y"] = v; return this.x + this.y; } } return new T(1).put("12"); })()`,
		`(() => { class T extends BigInt64Array { put() { this[0] = "12"; return this[0]; } } return String(new T(1).put()); })()`,
		`(() => { const a = new BigInt64Array(1); const o = { __proto__: a, m(v) { super[0] = v; return typeof this[0]; } }; return o.m("12"); })()`,
	}
	refused := []string{
		`class T extends BigInt64Array { put(v) { super[0] = v; } } new T(1).put("12")`,
		`class T extends BigUint64Array { put(v) { super["0"] += v; } } new T(1).put("12")`,
		`class T extends BigInt64Array { put(v) { [super[0]] = [v]; } } new T(1).put(12n)`,
		`const o = { m(v) { super[0] = v; } }; o.m.call(new Proxy(new BigInt64Array(1), {}), "12")`,
		`const o = { m(v) { ({ x: super[{ toString: () => "0" }] } = { x: v }); } }; o.m.call(new BigInt64Array(1), "12")`,
	}
	i := bigSameAsGoja(t, same)
	for _, prog := range refused {
		_, err := runRewritten(i, "(() => { "+prog+" })()")
		if err == nil || !strings.Contains(err.Error(), superStoreRefusedMsg) {
			t.Errorf("%s: err = %v, want the refusal", prog, err)
		}
	}
}

// In an isolate that can make BigInt typed arrays, the builtins that make
// their result with a constructor of the script's (a species, or Array.of
// and Array.from's this) behave as goja's do, reading it as often, and
// hand back what it made: a BigInt typed array filled with converted
// values, never the converting proxy (dos_species.go).
func TestBigInt_SpeciesAndThisConstructors(t *testing.T) {
	progs := []string{
		`(() => { class A extends Array {} const r = A.from([1, 2, 3]).map((x) => x * 2); return (r instanceof A) + r.join(); })()`,
		`(() => { const log = []; const a = [1, 2]; a.constructor = { get [Symbol.species]() { log.push("s"); return function (n) { this.n = n; }; } }; const r = a.map((x) => x + 1); return JSON.stringify(r) + log.join(); })()`,
		`(() => { const a = [1n, 2n]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(2); } }; const r = a.map((x) => x * 2n); return Object.prototype.toString.call(r) + r.join() + (r instanceof BigInt64Array); })()`,
		`(() => { const a = ["12", "34", { valueOf: () => "5" }]; a.constructor = { [Symbol.species]: function () { return new BigUint64Array(3); } }; return a.slice(0).join(); })()`,
		`(() => { try { return String(Array.of.call(function () { return new BigInt64Array(2); }, "5", 6n)); } catch (e) { return e.name; } })()`,
		`(() => { try { const r = Array.from.call(function () { return new BigInt64Array(2); }, { length: 2, 0: "7", 1: 8n }); return r.join() + Object.prototype.toString.call(r); } catch (e) { return e.name; } })()`,
		`(() => { const r = Array.from.call(function () { return {}; }, [1, 2], (x) => x * 3); return JSON.stringify(r); })()`,
		`(() => { function C(n) { return { nt: new.target === C, n }; } return JSON.stringify(Array.of.call(C, 1)); })()`,
		`(() => { class A extends Array {} const r = A.from([[1], [2, [3]]]); return [r.flat(2).join(), r.flatMap((x) => x).length, r.concat([4]) instanceof A, r.filter(Boolean) instanceof A, r.splice(0, 1) instanceof A].join(); })()`,
		`(() => { const a = [1, 2, 3]; return [a.map((x) => x).join(), a.filter((x) => x > 1).join(), a.slice(1).join(), [1].concat(a).join(), [[1]].flat().join()].join("|"); })()`,
		`(() => { const a = [3, 4]; a.constructor = { [Symbol.species]: function () { return new BigInt64Array(1); } }; try { return String(a.concat()); } catch (e) { return e.name; } })()`,
		`(() => { const a = new Float64Array([1, 2]); return a.map(function (x, i, s) { return x * this.k + i + (s === a); }, { k: 3 }).join(); })()`,
		`(() => { const a = new Float64Array([1, 2]); a.constructor = { [Symbol.species]: function (n) { return new Int8Array(n); } }; return a.map((x) => ({ valueOf: () => x * 100 })).join(); })()`,
		`(() => { const a = new Float64Array([1, 2]); a.constructor = { [Symbol.species]: function (n) { return new BigInt64Array(n); } }; const r = a.map((x) => String(x * 7)); return r.join() + Object.prototype.toString.call(r); })()`,
		`(() => { const a = new Uint8Array([1, 2]); a.constructor = { [Symbol.species]: function (n) { return new BigUint64Array(n); } }; try { a.map((x) => { throw new RangeError("x" + x); }); } catch (e) { return e.message; } })()`,
	}
	bigSameAsGoja(t, progs)
}

// bigSameAsGoja runs each of progs, rewritten, in one guarded runtime
// with BigInt on, and in goja, and compares what they return; it hands
// back the guarded runtime.
func bigSameAsGoja(t *testing.T, progs []string) *Isolate {
	t.Helper()
	i := guardedRuntime(t)
	i.builtins.enableBigInt()
	plain := goja.New()
	for _, prog := range progs {
		got, err := runRewritten(i, prog)
		if err != nil {
			t.Fatalf("%s\nrewritten: %v", prog, err)
		}
		want, err := plain.RunString(prog)
		if err != nil {
			t.Fatalf("%s\ngoja: %v", prog, err)
		}
		if got.String() != want.String() {
			t.Errorf("%s\nrewritten: %v\ngoja:      %v", prog, got, want)
		}
	}
	return i
}
