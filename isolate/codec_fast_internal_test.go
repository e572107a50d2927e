package isolate

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/dop251/goja"
)

// encodeGeneral is encodeValue reading every object through goja's public
// API (Keys and Get), without the encoder's reads of goja's own layout:
// the reference its fast paths are held to.
func encodeGeneral(r *goja.Runtime, v goja.Value, lim codecLimits, onCap func(o *goja.Object) (uint32, bool)) ([]byte, error) {
	e, err := encodeWith(r, v, lim, onCap, true)
	var out []byte
	if err == nil {
		out = bytes.Clone(e.buf)
	}
	e.release()
	return out, err
}

// codecGenJS builds a random value from a seed, the same value for the
// same seed in any fresh runtime: nested objects and arrays with keys that
// look like indices, "__proto__" as an own key, non-ASCII and lone
// surrogate keys, getters that change, delete or redefine properties of
// the objects around them (also ones not read yet), throw or return new
// objects, non-enumerable and symbol keys, inherited properties,
// null-prototype objects, class instances, holes, Errors, Dates, bytes,
// and values that are refused (Proxies, functions, Maps, cycles).
const codecGenJS = `(seed) => {
	let s = seed >>> 0 || 1;
	const rnd = n => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
	const keys = ["type", "by", "a", "b", "c", "d", "e", "f", "__proto__", "0", "1", "01", "-1", "1.5", "4294967295",
		"é", "キー", "\ud800x", "", "constructor", "toString", "length", "x".repeat(40), "type", "by", "a", "b"];
	const strs = ["inc", "", "é", "😀", "\udc00", "x".repeat(20), "ok"];
	const nums = [0, -0, 1, -1, 127, 128, 255, 256, -33, 65535, 2 ** 31, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1.5, NaN, Infinity, -Infinity];
	const parents = [];
	function prim() {
		switch (rnd(7)) {
		case 0: return nums[rnd(nums.length)];
		case 1: return strs[rnd(strs.length)];
		case 2: return rnd(2) === 0;
		case 3: return null;
		case 4: return undefined;
		case 5: return rnd(2000) - 1000;
		default: return keys[rnd(keys.length)];
		}
	}
	function mischief(self, around) {
		// What a getter does to itself or the objects around it.
		const p = around.length && rnd(4) ? around[rnd(around.length)] : self;
		const own = Object.keys(p);
		const k = own.length && rnd(3) ? own[rnd(own.length)] : keys[rnd(keys.length)];
		switch (rnd(9)) {
		case 0: p[k] = prim(); break;
		case 1: delete p[k]; break;
		case 2: Object.defineProperty(p, k, {get() { return "late" }, enumerable: true, configurable: true}); break;
		case 3: Object.defineProperty(p, k, {value: prim(), enumerable: rnd(2) === 0, configurable: true, writable: true}); break;
		case 4: if (Array.isArray(p)) p.length = rnd(3); break;
		case 5: if (rnd(4) === 0) throw new Error("boom " + k); break;
		case 6: return {made: prim()};
		}
		return prim();
	}
	function val(depth) {
		if (depth > 3 || rnd(3) === 0) return prim();
		switch (rnd(12)) {
		case 0: case 1: case 2: case 3: return obj(depth);
		case 4: case 5: return arr(depth);
		case 6: { const proto = {inherited: prim()}; const o = Object.create(rnd(2) ? proto : null); fill(o, depth); return o; }
		case 7: { class C { constructor() { this.own = prim() } get acc() { return 1 } } const o = new C(); fill(o, depth); return o; }
		case 8: { const e = new (rnd(2) ? Error : TypeError)("m" + rnd(9)); if (rnd(2)) e.extra = prim(); return e; }
		case 9: return rnd(2) ? new Date(rnd(2) ? 1700000000000 : NaN) : new Uint8Array([rnd(256), rnd(256)]);
		case 10: return [new Proxy({}, {}), () => 1, new Map(), Symbol("s"), 1n][rnd(5)];
		default: { const o = {}; o.self = rnd(3) === 0 ? o : {}; return o; }
		}
	}
	function fill(o, depth) {
		parents.push(o);
		const n = rnd(6);
		for (let i = 0; i < n; i++) {
			const k = keys[rnd(keys.length)];
			switch (rnd(8)) {
			case 0: { const around = parents.slice(); Object.defineProperty(o, k, {get() { return mischief(o, around) }, enumerable: true, configurable: true}); break; }
			case 1: Object.defineProperty(o, k, {value: val(depth + 1), enumerable: rnd(2) === 0, configurable: true, writable: rnd(2) === 0}); break;
			case 2: o[Symbol(k)] = val(depth + 1); break;
			default: try { Object.defineProperty(o, k, {value: val(depth + 1), enumerable: true, configurable: true, writable: true}) } catch (e) { o[k] = 0 }
			}
		}
		parents.pop();
		return o;
	}
	function obj(depth) {
		switch (rnd(3)) {
		case 0: return fill({}, depth);
		case 1: return {type: prim(), by: val(depth + 1)};
		default: { const o = fill({}, depth); o["__proto__"] = prim(); return o; }
		}
	}
	function arr(depth) {
		const a = [];
		parents.push(a);
		const n = rnd(5);
		for (let i = 0; i < n; i++) {
			if (rnd(5) === 0) continue; // a hole
			if (rnd(6) === 0) { const around = parents.slice(); Object.defineProperty(a, i, {get() { return mischief(a, around) }, enumerable: true, configurable: true}); }
			else a[i] = val(depth + 1);
		}
		if (rnd(4) === 0) a.length = n + rnd(3);
		if (rnd(4) === 0) a.extra = 1;
		parents.pop();
		return a;
	}
	return val(0);
}`

// TestCodec_FastEncodeMatchesGeneral: for random values, hostile ones
// included, the encoder writes exactly the bytes (or fails with exactly
// the error) it writes reading every object through goja's public API.
func TestCodec_FastEncodeMatchesGeneral(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	encoded := 0
	for seed := 1; seed <= n; seed++ {
		if fastEncodeMatchesGeneral(t, uint32(seed)) {
			encoded++
		}
	}
	if encoded < n/4 {
		t.Fatalf("only %d of %d values encoded: the generator makes too few sendable values", encoded, n)
	}
}

// FuzzCodec_EncodeFast is TestCodec_FastEncodeMatchesGeneral over any
// seed of the generator.
func FuzzCodec_EncodeFast(f *testing.F) {
	for seed := uint32(1); seed <= 16; seed++ {
		f.Add(seed)
	}
	f.Add(uint32(613))
	f.Fuzz(func(t *testing.T, seed uint32) { fastEncodeMatchesGeneral(t, seed) })
}

// fastEncodeMatchesGeneral builds the value of seed twice, in two fresh
// runtimes (its getters change it), encodes one with the fast paths and
// one without, and fails t if the bytes or errors differ; it reports
// whether the value could be sent.
func fastEncodeMatchesGeneral(t *testing.T, seed uint32) bool {
	t.Helper()
	build := func() (*goja.Runtime, goja.Value, error) {
		r := goja.New()
		gen, ok := goja.AssertFunction(jsEval(t, r, codecGenJS))
		if !ok {
			t.Fatal("generator is not a function")
		}
		v, err := gen(goja.Undefined(), r.ToValue(seed))
		return r, v, err
	}
	r1, v1, err1 := build()
	r2, v2, err2 := build()
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("seed %d: the generator is not deterministic: %v, %v", seed, err1, err2)
	}
	if err1 != nil {
		return false
	}
	fast, ferr := encodeValue(r1, v1, codecLimits{}, nil)
	gen, gerr := encodeGeneral(r2, v2, codecLimits{}, nil)
	if fmt.Sprint(ferr) != fmt.Sprint(gerr) || !bytes.Equal(fast, gen) {
		t.Fatalf("seed %d: fast path %x (%v), general %x (%v)", seed, fast, ferr, gen, gerr)
	}
	return ferr == nil
}

// TestCodec_GetterChangesOuterObject: a getter inside a nested value that
// changes, deletes or redefines a property of an enclosing object not read
// yet is seen, as a JS read would see it, though the encoder read that
// object's properties before the getter ran.
func TestCodec_GetterChangesOuterObject(t *testing.T) {
	for _, tc := range []struct{ src, pred string }{
		{`(() => { const o = {a: {get x() { o.b = "changed"; return 1 }}, b: "orig"}; return o })()`, `v.a.x === 1 && v.b === "changed"`},
		{`(() => { const o = {a: {get x() { delete o.b; return 1 }}, b: "orig", c: 3}; return o })()`, `!("b" in v) && v.c === 3`},
		{`(() => { const o = {a: {n: {get x() { Object.defineProperty(o, "b", {get() { return "acc" }, enumerable: true}); return 1 }}}, b: "orig"}; return o })()`,
			`v.b === "acc"`},
		{`(() => { const o = {a: [1, {get x() { o.b = 2; return 1 }}], b: 1}; return o })()`, `v.b === 2`},
		{`(() => { const o = {a: {get x() { o.z = 1; return 1 }}, b: 1}; return o })()`, `!("z" in v) && v.b === 1`},
		{`(() => { const o = {a: {}, b: {get x() { o.c = "late"; return 1 }}, c: "early"}; return o })()`, `v.c === "late"`},
	} {
		r, v := codecRoundTrip(t, tc.src)
		jsCheck(t, r, v, tc.pred)
	}
}

// TestCodec_ArrayLenAsGet: arrayLen reads what Get("length") returns for
// every array goja keeps dense, and declines the others.
func TestCodec_ArrayLenAsGet(t *testing.T) {
	m, err := arrMaker()
	if err != nil {
		t.Fatalf("goja's array layout is not the one Cloister knows: %v", err)
	}
	r := goja.New()
	arrays := jsEval(t, r, `[[], [1, 2, 3], (a => (a.length = 5, a))([1]), (a => (a.length = 1, a))([1, 2, 3]),
		Object.freeze([1, 2]), (a => (a.push(...Array(20).fill(0)), a))([]), (a => (a[1e6] = 0, a))([]),
		new Array(7), Array.from({length: 3}), (a => (a.pop(), a))([1, 2]), [ , , 1]]`).(*goja.Object)
	n := int(arrays.Get("length").ToInteger())
	dense := 0
	for i := 0; i < n; i++ {
		a := arrays.Get(arrayIndexName(i)).(*goja.Object)
		want := int(a.Get("length").ToInteger())
		got, ok := arrayLen(m, a)
		if ok {
			dense++
			if got != want {
				t.Errorf("array %d: arrayLen %d, length %d", i, got, want)
			}
		}
	}
	if dense < n/2 {
		t.Fatalf("arrayLen read only %d of %d arrays", dense, n)
	}
	if _, ok := arrayLen(m, r.NewObject()); ok {
		t.Fatal("arrayLen read a plain object")
	}
}

// TestCodec_GetterThrowsDeep: a getter that throws anywhere in a message
// (an object's property, an array's element, under plain data read without
// a try) fails the encoding with the getter's path and exception, and
// leaves the runtime able to run script and encode again.
func TestCodec_GetterThrowsDeep(t *testing.T) {
	r := goja.New()
	for _, tc := range []struct{ src, want string }{
		{`({type: "x", list: [1, {deep: {get bad() { throw new Error("deep") }}}]})`, "cannot send msg.list[1].deep.bad: a getter threw: deep"},
		{`Object.defineProperty([0, 1], 1, {get() { throw new TypeError("elem") }, enumerable: true})`, "cannot send msg[1]: a getter threw: elem"},
		{`({a: 1, b: Object.defineProperty(new Error("e"), "extra", {get() { throw 7 }, enumerable: true})})`, "cannot send msg.b.extra: a getter threw: 7"},
		{`({"1": 0, get "é"() { throw new Error("keys") }})`, `cannot send msg["é"]: a getter threw: keys`},
	} {
		_, err := encodeValue(r, jsEval(t, r, tc.src), codecLimits{}, nil)
		var ce *CloneError
		if err == nil || err.Error() != tc.want || !errors.As(err, &ce) || errors.Unwrap(err) == nil {
			t.Errorf("%s: error %v, want %q wrapping the exception", tc.src, err, tc.want)
		}
		if v := jsEval(t, r, `(() => { try { throw 1 } catch (e) { return e + 1 } })()`); v.ToInteger() != 2 {
			t.Fatalf("after %s the runtime computes %v", tc.src, v)
		}
		if _, err := encodeValue(r, jsEval(t, r, `({ok: [1, "two"]})`), codecLimits{}, nil); err != nil {
			t.Fatalf("after %s: %v", tc.src, err)
		}
	}
}
