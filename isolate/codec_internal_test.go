package isolate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
	"github.com/vmihailenco/msgpack/v5"
)

// jsEval evaluates src in r as an expression.
func jsEval(t testing.TB, r *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := r.RunString("(" + src + "\n)")
	if err != nil {
		t.Fatalf("run %s: %v", src, err)
	}
	return v
}

// jsCall calls the JS function fn (source text) with v in r.
func jsCall(t testing.TB, r *goja.Runtime, fn string, v goja.Value) goja.Value {
	t.Helper()
	f, ok := goja.AssertFunction(jsEval(t, r, fn))
	if !ok {
		t.Fatalf("%s is not a function", fn)
	}
	res, err := f(goja.Undefined(), v)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	return res
}

// jsCheck runs the JS predicate pred (an expression over v) in r.
func jsCheck(t testing.TB, r *goja.Runtime, v goja.Value, pred string) {
	t.Helper()
	if !jsCall(t, r, "v => "+pred, v).ToBoolean() {
		desc := jsCall(t, r, "v => { try { return JSON.stringify(v) } catch (e) { return String(e) } }", v)
		t.Errorf("predicate %s is false for %s", pred, desc)
	}
}

// codecRoundTrip encodes src's value in one runtime and decodes it in a second,
// fresh one.
func codecRoundTrip(t testing.TB, src string) (*goja.Runtime, goja.Value) {
	t.Helper()
	r1 := goja.New()
	data, err := encodeValue(r1, jsEval(t, r1, src), codecLimits{}, nil)
	if err != nil {
		t.Fatalf("encode %s: %v", src, err)
	}
	r2 := goja.New()
	v, err := decodeValue(r2, data, codecLimits{}, nil)
	if err != nil {
		t.Fatalf("decode %s (%x): %v", src, data, err)
	}
	return r2, v
}

func TestCodec_RoundTrip(t *testing.T) {
	tests := []struct {
		name, src, pred string
	}{
		{"null", `null`, `v === null`},
		{"undefined", `undefined`, `v === undefined`},
		{"true", `true`, `v === true`},
		{"false", `false`, `v === false`},
		{"zero", `0`, `Object.is(v, 0)`},
		{"int", `42`, `v === 42`},
		{"negative int", `-7`, `v === -7`},
		{"int32", `-2147483649`, `v === -2147483649`},
		{"max safe integer", `Number.MAX_SAFE_INTEGER`, `v === 2**53 - 1`},
		{"min safe integer", `Number.MIN_SAFE_INTEGER`, `v === -(2**53 - 1)`},
		{"2^53", `2**53`, `v === 2**53`},
		{"2^64", `2**64`, `v === 2**64`},
		{"1e300", `1e300`, `v === 1e300`},
		{"fraction", `0.1`, `v === 0.1`},
		{"negative fraction", `-2.5`, `v === -2.5`},
		{"minus zero", `-0`, `Object.is(v, -0)`},
		{"NaN", `NaN`, `Object.is(v, NaN)`},
		{"Infinity", `Infinity`, `v === Infinity`},
		{"-Infinity", `-Infinity`, `v === -Infinity`},
		{"min value", `Number.MIN_VALUE`, `v === Number.MIN_VALUE`},
		{"empty string", `""`, `v === ""`},
		{"ascii string", `"inc"`, `v === "inc"`},
		{"long string", `"x".repeat(100000)`, `v === "x".repeat(100000)`},
		{"latin string", `"héllo wörld"`, `v === "héllo wörld"`},
		{"long unicode string", `"héllo".repeat(50)`, `v === "héllo".repeat(50)`},
		{"emoji", `"😀👍🏽 family: 👨‍👩‍👧"`, `v === "😀👍🏽 family: 👨‍👩‍👧" && v.length === 23 && v.codePointAt(0) === 0x1F600`},
		{"lone high surrogate", `"a\uD800b"`, `v === "a\uFFFDb"`},
		{"lone low surrogate", `"\uDC00"`, `v === "\uFFFD"`},
		{"Uint8Array", `new Uint8Array([1, 2, 255])`, `v instanceof Uint8Array && v.length === 3 && v[0] === 1 && v[2] === 255`},
		{"empty Uint8Array", `new Uint8Array(0)`, `v instanceof Uint8Array && v.length === 0`},
		{"Uint8Array view", `new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 3)`,
			`v instanceof Uint8Array && v.length === 2 && v[0] === 1 && v[1] === 2 && v.byteOffset === 0 && v.buffer.byteLength === 2`},
		{"Uint8Array over offset buffer", `new Uint8Array(new Uint8Array([9, 8, 7, 6]).buffer, 2, 1)`,
			`v.length === 1 && v[0] === 7 && v.buffer.byteLength === 1`},
		{"Uint8ClampedArray", `new Uint8ClampedArray([300, 5])`, `v instanceof Uint8Array && v[0] === 255 && v[1] === 5`},
		{"Date", `new Date(1700000000123)`, `v instanceof Date && v.getTime() === 1700000000123`},
		{"Date before epoch", `new Date(-86400001)`, `v instanceof Date && v.getTime() === -86400001`},
		{"invalid Date", `new Date(NaN)`, `v instanceof Date && Number.isNaN(v.getTime())`},
		{"Date subclass", `new (class D extends Date {})(5)`, `v instanceof Date && Object.getPrototypeOf(v) === Date.prototype && v.getTime() === 5`},
		{"empty array", `[]`, `Array.isArray(v) && v.length === 0`},
		{"array", `[1, "a", null, true, 2.5]`, `JSON.stringify(v) === '[1,"a",null,true,2.5]'`},
		{"undefined elements", `[undefined, 1]`, `v.length === 2 && 0 in v && v[0] === undefined`},
		{"holes", `[1, , 3]`, `v.length === 3 && 1 in v && v[1] === undefined && v[2] === 3`},
		{"sparse array", `(a => (a[20] = 1, a))([])`, `v.length === 21 && v[20] === 1 && v[3] === undefined`},
		{"array with extra property", `Object.assign([1], {x: 2})`, `v.length === 1 && v.x === undefined`},
		{"array subclass", `(class A extends Array {}).of(1, 2)`, `Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype && v[1] === 2`},
		{"long array", `Array.from({length: 2000}, (_, i) => i)`, `v.length === 2000 && v.every((x, i) => x === i)`},
		{"empty object", `({})`, `Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0`},
		{"nested", `{a: {b: {c: [1, {d: "e"}]}}, f: [[], {}]}`, `JSON.stringify(v) === '{"a":{"b":{"c":[1,{"d":"e"}]}},"f":[[],{}]}'`},
		{"property order", `{b: 1, a: 2, c: 3}`, `Object.keys(v).join() === "b,a,c"`},
		{"undefined property", `{a: undefined}`, `Object.prototype.hasOwnProperty.call(v, "a") && v.a === undefined`},
		{"null vs undefined", `{a: null, b: undefined}`, `v.a === null && v.b === undefined && "b" in v`},
		{"own data properties", `{a: 1}`,
			`(d => d.value === 1 && d.writable && d.enumerable && d.configurable)(Object.getOwnPropertyDescriptor(v, "a"))`},
		{"class instance", `new (class P { constructor() { this.x = 1 } get y() { return 2 } m() {} })()`,
			`Object.getPrototypeOf(v) === Object.prototype && v.x === 1 && !("y" in v) && !("m" in v)`},
		{"null prototype", `Object.assign(Object.create(null), {a: 1})`, `Object.getPrototypeOf(v) === Object.prototype && v.a === 1`},
		{"getter", `({get a() { return 5 }})`, `Object.getOwnPropertyDescriptor(v, "a").value === 5`},
		{"getter deletes a later property", `({get a() { delete this.b; return 1 }, b: 2, c: 3})`, `Object.keys(v).join() === "a,c"`},
		{"getter deletes a property of a map16", `(o => { for (let i = 0; i < 20; i++) o["k" + i] = i; return o })(Object.defineProperty({}, "g", {get() { delete this.k19; return "g" }, enumerable: true}))`,
			`Object.keys(v).length === 20 && !("k19" in v) && v.g === "g"`},
		{"getter adds a property", `({get a() { this.z = 1; return 1 }})`, `Object.keys(v).join() === "a"`},
		{"non-enumerable skipped", `Object.defineProperty({a: 1}, "h", {value: 2})`, `v.a === 1 && !("h" in v)`},
		{"symbol keys skipped", `({a: 1, [Symbol("s")]: 2})`, `v.a === 1 && Object.getOwnPropertySymbols(v).length === 0`},
		{"symbol-keyed function skipped", `({a: 1, [Symbol.iterator]() {}})`, `v.a === 1`},
		{"__proto__ key", `Object.defineProperty({}, "__proto__", {value: {x: 1}, enumerable: true, writable: true, configurable: true})`,
			`Object.getPrototypeOf(v) === Object.prototype && Object.prototype.hasOwnProperty.call(v, "__proto__") && v.__proto__.x === 1 && v.x === undefined && ({}).x === undefined`},
		{"JSON.parse __proto__", `JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')`,
			`Object.getPrototypeOf(v) === Object.prototype && v.polluted === undefined && ({}).polluted === undefined && Object.keys(v).join() === "__proto__,a"`},
		{"constructor and prototype keys", `{constructor: 1, prototype: 2, hasOwnProperty: 3}`, `v.constructor === 1 && v.prototype === 2 && v.hasOwnProperty === 3`},
		{"numeric keys", `{1: "a", b: 2}`, `v[1] === "a" && v.b === 2`},
		{"unicode keys", `{"😀": 1, "ключ": 2, "": 3}`, `v["😀"] === 1 && v["ключ"] === 2 && v[""] === 3`},
		{"long key", `{["k".repeat(100)]: 1}`, `v["k".repeat(100)] === 1`},
		{"Error", `new TypeError("bad")`, `v.name === "TypeError" && v.message === "bad" && !(v instanceof Error) && !("stack" in v)`},
		{"Error with properties", `Object.assign(new Error("m"), {code: 7})`, `Object.keys(v).join() === "name,message,code" && v.code === 7`},
		{"Error subclass", `new (class MyError extends Error { constructor() { super("x"); this.name = "MyError" } })()`,
			`v.name === "MyError" && v.message === "x"`},
		{"shared reference", `(s => ({a: s, b: s, c: [s]}))({n: 1})`, `v.a.n === 1 && v.b.n === 1 && v.c[0].n === 1 && v.a !== v.b`},
		{"frozen", `Object.freeze({a: Object.freeze([1])})`, `v.a[0] === 1 && !Object.isFrozen(v) && !Object.isFrozen(v.a)`},
		{"dates and bytes nested", `{when: new Date(0), data: [new Uint8Array([7])]}`,
			`v.when instanceof Date && v.when.getTime() === 0 && v.data[0] instanceof Uint8Array && v.data[0][0] === 7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, v := codecRoundTrip(t, tt.src)
			jsCheck(t, r, v, tt.pred)
		})
	}
}

func TestCodec_Encoding(t *testing.T) {
	tests := []struct {
		src  string
		want string // hex
	}{
		{`{type: "inc", by: 2}`, "82a474797065a3696e63a2627902"},
		{`null`, "c0"},
		{`undefined`, "c70001"},
		{`[undefined]`, "91c70001"},
		{`[, 1]`, "92c7000101"},
		{`true`, "c3"},
		{`1`, "01"},
		{`-1`, "ff"},
		{`-33`, "d0df"},
		{`300`, "cd012c"},
		{`2.0`, "02"},
		{`70000`, "ce00011170"},
		{`2**53 - 1`, "cf001fffffffffffff"},
		{`-(2**53 - 1)`, "d3ffe0000000000001"},
		{`2**53`, "cb4340000000000000"},
		{`0.5`, "cb3fe0000000000000"},
		{`-0`, "cb8000000000000000"},
		{`Infinity`, "cb7ff0000000000000"},
		{`"é"`, "a2c3a9"},
		{`"😀"`, "a4f09f9880"},
		{`new Uint8Array([1, 2])`, "c4020102"},
		{`new Uint8Array(0)`, "c400"},
		{`new Date(1)`, "d7033ff0000000000000"},
		{`new Date(NaN)`, "d7037ff8000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			r := goja.New()
			data, err := encodeValue(r, jsEval(t, r, tt.src), codecLimits{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := hex.EncodeToString(data), tt.want; got != want && !(tt.src == `new Date(NaN)` && strings.HasPrefix(got, "d7037ff")) {
				t.Errorf("encoding = %s, want %s", got, want)
			}
		})
	}
}

// TestCodec_MutationAfterEncode checks that the bytes are a copy: changing
// the sender's value or the receiver's value afterwards changes nothing
// else.
func TestCodec_MutationAfterEncode(t *testing.T) {
	r1 := goja.New()
	v := jsEval(t, r1, `globalThis.m = {a: [1, 2], b: {c: "d"}, u: new Uint8Array([1, 2, 3]).subarray(1)}`)
	data, err := encodeValue(r1, v, codecLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsEval(t, r1, `(m.a.push(3), m.b.c = "changed", m.u[0] = 99, m.x = 1)`)

	r2 := goja.New()
	got, err := decodeValue(r2, data, codecLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsCheck(t, r2, got, `JSON.stringify([v.a, v.b]) === '[[1,2],{"c":"d"}]' && v.u[0] === 2 && v.u.length === 2 && !("x" in v)`)
	jsCall(t, r2, `v => (v.u[0] = 42, v.a.push(9))`, got)

	again, err := decodeValue(r2, data, codecLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsCheck(t, r2, again, `v.u[0] === 2 && v.a.length === 2`)
	jsCheck(t, r1, v, `m.u[0] === 99`)
}

func TestCodec_Refused(t *testing.T) {
	tests := []struct {
		src     string
		lim     codecLimits
		wantErr string
	}{
		{`({f() {}})`, codecLimits{}, "cannot send msg.f: function"},
		{`() => 1`, codecLimits{}, "cannot send msg: function"},
		{`({a: [1, 2, {b: async () => 1}]})`, codecLimits{}, "cannot send msg.a[2].b: function"},
		{`({k: class {}})`, codecLimits{}, "cannot send msg.k: function"},
		{`({k: Math.max})`, codecLimits{}, "cannot send msg.k: function"},
		{`({k: (function () {}).bind(null)})`, codecLimits{}, "cannot send msg.k: function"},
		{`({"a b": [Symbol("s")]})`, codecLimits{}, `cannot send msg["a b"][0]: symbol`},
		{`({x: Symbol.iterator})`, codecLimits{}, "cannot send msg.x: symbol"},
		{`10n`, codecLimits{}, "cannot send msg: BigInt"},
		{`(a => (a.self = a, a))({})`, codecLimits{}, "cannot send msg.self: cyclic reference (an object that contains itself)"},
		{`(a => (a.push({b: [a]}), a))([])`, codecLimits{}, "cannot send msg[0].b[0]: cyclic reference (an object that contains itself)"},
		{`({m: new Map()})`, codecLimits{}, "cannot send msg.m: Map (send an array of entries or an object instead)"},
		{`({s: new Set([1])})`, codecLimits{}, "cannot send msg.s: Set (send an array instead)"},
		{`({w: new WeakMap()})`, codecLimits{}, "cannot send msg.w: WeakMap"},
		{`({w: new WeakSet()})`, codecLimits{}, "cannot send msg.w: WeakSet"},
		{`({p: Promise.resolve(1)})`, codecLimits{}, "cannot send msg.p: Promise"},
		{`({r: /x/g})`, codecLimits{}, "cannot send msg.r: RegExp"},
		{`({p: new Proxy({}, {})})`, codecLimits{}, "cannot send msg.p: Proxy"},
		{`({p: new Proxy([], {})})`, codecLimits{}, "cannot send msg.p: Proxy"},
		{`(p => (p.revoke(), {p: p.proxy}))(Proxy.revocable({}, {}))`, codecLimits{}, "cannot send msg.p: Proxy"},
		{`({t: new Int16Array(2)})`, codecLimits{}, "cannot send msg.t: Int16Array (only Uint8Array is supported)"},
		{`({t: new Float64Array(2)})`, codecLimits{}, "cannot send msg.t: Float64Array (only Uint8Array is supported)"},
		{`({b: new ArrayBuffer(2)})`, codecLimits{}, "cannot send msg.b: ArrayBuffer (send a Uint8Array instead)"},
		{`({d: new DataView(new ArrayBuffer(2))})`, codecLimits{}, "cannot send msg.d: DataView"},
		{`({n: new Number(1)})`, codecLimits{}, "cannot send msg.n: boxed primitive"},
		{`({n: new String("s")})`, codecLimits{}, "cannot send msg.n: boxed primitive"},
		{`(function () { return {a: arguments} })(1)`, codecLimits{}, "cannot send msg.a: arguments object"},
		{`({g: (function* () {})()})`, codecLimits{}, "cannot send msg.g: generator"},
		{`({i: [1][Symbol.iterator]()})`, codecLimits{}, "cannot send msg.i: iterator"},
		{`({g: globalThis})`, codecLimits{}, "cannot send msg.g: unsupported object"},
		{`({e: Object.assign(new Error("x"), {f() {}})})`, codecLimits{}, "cannot send msg.e.f: function"},
		{`({get a() { throw new Error("boom") }})`, codecLimits{}, "cannot send msg.a: a getter threw: boom"},
		{`({get a() { throw "plain" }})`, codecLimits{}, "cannot send msg.a: a getter threw: plain"},
		{`"x".repeat(2 << 20)`, codecLimits{}, "cannot send msg: message larger than 1048576 bytes"},
		{`({a: "x".repeat(100)})`, codecLimits{MaxBytes: 50}, "cannot send msg.a: message larger than 50 bytes"},
		{`({a: new Uint8Array(100)})`, codecLimits{MaxBytes: 50}, "cannot send msg.a: message larger than 50 bytes"},
		{`Array.from({length: 100}, () => 1)`, codecLimits{MaxBytes: 50}, "cannot send msg[48]: message larger than 50 bytes"},
		{`new Array(2**32 - 1)`, codecLimits{}, "cannot send msg: message would take the receiver more than 67108864 bytes of JS values"},
		{`new Array(2**20)`, codecLimits{MaxBytes: 1000}, "cannot send msg[332]: message larger than 1000 bytes"},
		{`(e => new Array(200000).fill(e))([])`, codecLimits{},
			"cannot send msg[110951]: message would take the receiver more than 67108864 bytes of JS values"},
		{`{a: "x".repeat(100)}`, codecLimits{MaxHeap: 500}, "cannot send msg.a: message would take the receiver more than 500 bytes of JS values"},
		{`"x".repeat(48)`, codecLimits{MaxBytes: 49}, "cannot send msg: message larger than 49 bytes"},
		{`(() => { let v = 1; for (let i = 0; i < 5; i++) v = [v]; return v })()`, codecLimits{MaxDepth: 4},
			"cannot send msg[0][0][0][0]: nested deeper than 4 levels"},
		{`(() => { let v = {}; for (let i = 0; i < 65; i++) v = {a: v}; return v })()`, codecLimits{},
			"cannot send msg" + strings.Repeat(".a", 64) + ": nested deeper than 64 levels"},
		{`({get a() { return {get a() { return this } } }})`, codecLimits{}, "cannot send msg.a.a: cyclic reference (an object that contains itself)"},
		{`(function f() { return {get a() { return f() }} })()`, codecLimits{MaxDepth: 10},
			"cannot send msg" + strings.Repeat(".a", 10) + ": nested deeper than 10 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			r := goja.New()
			data, err := encodeValue(r, jsEval(t, r, tt.src), tt.lim, nil)
			if err == nil {
				t.Fatalf("encoded %x, want error %q", data, tt.wantErr)
			}
			var ce *CloneError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *CloneError", err, err)
			}
			if got, want := err.Error(), tt.wantErr; got != want {
				t.Errorf("error = %q\nwant    %q", got, want)
			}
			if data != nil {
				t.Errorf("returned %d bytes with the error", len(data))
			}
		})
	}
}

func TestCodec_GetterExceptionUnwraps(t *testing.T) {
	r := goja.New()
	_, err := encodeValue(r, jsEval(t, r, `({get a() { throw new RangeError("boom") }})`), codecLimits{}, nil)
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("error %v does not unwrap to a *goja.Exception", err)
	}
	// The runtime is still usable after the exception.
	if got, want := jsEval(t, r, `1 + 1`).ToInteger(), int64(2); got != want {
		t.Errorf("1 + 1 = %d after a failed encode", got)
	}
}

// TestCodec_InterruptPropagates: an interrupt (the CPU limit) raised while
// a getter runs is not mistaken for a getter's exception.
func TestCodec_InterruptPropagates(t *testing.T) {
	r := goja.New()
	_ = r.Set("stop", func() { r.Interrupt("cpu") })
	v := jsEval(t, r, `({get a() { stop(); for (;;) {} }})`)
	defer func() {
		if _, ok := recover().(*goja.InterruptedError); !ok {
			t.Error("encodeValue did not panic with the interrupt")
		}
	}()
	data, err := encodeValue(r, v, codecLimits{}, nil)
	t.Errorf("encodeValue returned %x, %v", data, err)
}

func TestCodec_HostObjectRefused(t *testing.T) {
	r := goja.New()
	o := r.NewObject()
	_ = o.Set("h", r.NewDynamicObject(hostObjectProbe{}))
	_, err := encodeValue(r, o, codecLimits{}, nil)
	if got, want := fmt.Sprint(err), "cannot send msg.h: host object"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

// TestCodec_DAGFailsFast: a value that doubles at every level is refused on
// size long before it could be walked.
func TestCodec_DAGFailsFast(t *testing.T) {
	r := goja.New()
	v := jsEval(t, r, `(() => { let v = {s: "leaf"}; for (let i = 0; i < 60; i++) v = [v, v]; return v })()`)
	_, err := encodeValue(r, v, codecLimits{MaxHeap: 1 << 40}, nil)
	if err == nil || !strings.Contains(err.Error(), "message larger than 1048576 bytes") {
		t.Fatalf("error = %v, want a size error", err)
	}
}

// TestCodec_HeapEstimateAgrees: the msgEncoder's estimate of what the receiver
// builds is the msgDecoder's, so that whatever a sender may send, its receiver
// can decode.
func TestCodec_HeapEstimateAgrees(t *testing.T) {
	r := goja.New()
	tip := func(lim codecLimits, data []byte) bool {
		_, err := decodeValue(goja.New(), data, lim, func(uint32) (goja.Value, error) { return goja.Null(), nil })
		return err == nil
	}
	marker := r.NewObject()
	_ = r.Set("capHandle", marker)
	onCap := func(o *goja.Object) (uint32, bool) { return 0, o == marker }
	for _, src := range []string{
		`{}`, `[]`, `{a: 1}`, `[1, "x", "héllo wörld, long enough not to be interned"]`,
		`{type: "inc", by: 2, s: "short", d: new Date(0), b: new Uint8Array(10), u: undefined, n: null}`,
		`{"ключ": {"😀": [[], [{}], {x: [1, 2, 3]}]}, c: capHandle, e: new Error("m")}`,
		`Object.defineProperty({a: 1, b: 2}, "h", {value: 3})`,
		`[1, , 3]`,
	} {
		t.Run(src, func(t *testing.T) {
			v := jsEval(t, r, src)
			data, err := encodeValue(r, v, codecLimits{}, onCap)
			if err != nil {
				t.Fatal(err)
			}
			// The smallest budget the msgEncoder accepts.
			lo, hi := 0, 1<<20
			for lo+1 < hi {
				mid := (lo + hi) / 2
				if _, err := encodeValue(r, v, codecLimits{MaxHeap: mid}, onCap); err == nil {
					hi = mid
				} else {
					lo = mid
				}
			}
			if !tip(codecLimits{MaxHeap: hi}, data) {
				t.Errorf("msgEncoder accepts MaxHeap %d but the msgDecoder does not", hi)
			}
			if hi > 1 && tip(codecLimits{MaxHeap: hi - 1}, data) {
				t.Errorf("msgDecoder accepts MaxHeap %d, below the msgEncoder's %d", hi-1, hi)
			}
		})
	}
}

func TestCodec_DecodeHeapLimit(t *testing.T) {
	// A million references to one empty array: 1 MiB of msgpack, ~600 MB
	// of goja arrays if it were decoded.
	n := 1<<20 - 5
	data := append([]byte{0xdd, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, bytes.Repeat([]byte{0x90}, n)...)
	_, err := decodeValue(goja.New(), data, codecLimits{}, nil)
	if err == nil || !strings.Contains(err.Error(), "message would take more than 67108864 bytes of JS values") {
		t.Fatalf("error = %v", err)
	}
	if got, want := err.Error(), "malformed message at msg[87380]: message would take more than 67108864 bytes of JS values"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestCodec_DepthLimitIsInclusive(t *testing.T) {
	r := goja.New()
	for _, depth := range []int{1, 10, 64} {
		v := jsEval(t, r, fmt.Sprintf(`(() => { let v = 1; for (let i = 0; i < %d; i++) v = i %% 2 ? [v] : {v}; return v })()`, depth))
		data, err := encodeValue(r, v, codecLimits{MaxDepth: depth}, nil)
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		if _, err := decodeValue(goja.New(), data, codecLimits{MaxDepth: depth}, nil); err != nil {
			t.Fatalf("decode depth %d: %v", depth, err)
		}
		if _, err := decodeValue(goja.New(), data, codecLimits{MaxDepth: depth - 1}, nil); depth > 1 && err == nil {
			t.Errorf("decode depth %d with MaxDepth %d succeeded", depth, depth-1)
		}
	}
}

func TestCodec_Capabilities(t *testing.T) {
	r1 := goja.New()
	h1, h2 := r1.NewObject(), r1.NewObject()
	_ = r1.Set("h1", h1)
	_ = r1.Set("h2", h2)
	onCap := func(o *goja.Object) (uint32, bool) {
		switch o {
		case h1:
			return 0, true
		case h2:
			return 70000, true
		}
		return 0, false
	}
	data, err := encodeValue(r1, jsEval(t, r1, `{to: h1, list: [h2, h1], deep: {x: {y: h2}}}`), codecLimits{}, onCap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte{0xd6, 0x02, 0x00, 0x01, 0x11, 0x70}) {
		t.Errorf("encoding %x lacks the fixext4 capability 70000", data)
	}

	r2 := goja.New()
	c0, c1 := r2.NewObject(), r2.NewObject()
	_ = r2.Set("c0", c0)
	_ = r2.Set("c1", c1)
	capAt := func(i uint32) (goja.Value, error) {
		switch i {
		case 0:
			return c0, nil
		case 70000:
			return c1, nil
		}
		return nil, fmt.Errorf("capability index %d out of range", i)
	}
	v, err := decodeValue(r2, data, codecLimits{}, capAt)
	if err != nil {
		t.Fatal(err)
	}
	jsCheck(t, r2, v, `v.to === c0 && v.list[0] === c1 && v.list[1] === c0 && v.deep.x.y === c1`)

	// The capability callback is asked first, even about functions.
	fn := jsEval(t, r1, `function () {}`).(*goja.Object)
	if _, err := encodeValue(r1, fn, codecLimits{}, func(o *goja.Object) (uint32, bool) { return 1, o == fn }); err != nil {
		t.Errorf("a function the callback claims: %v", err)
	}

	if _, err := decodeValue(r2, []byte{0xd6, 0x02, 0, 0, 0, 9}, codecLimits{}, capAt); err == nil ||
		!strings.Contains(err.Error(), "capability index 9 out of range") {
		t.Errorf("out of range capability: error = %v", err)
	}
	if _, err := decodeValue(r2, []byte{0xd6, 0x02, 0, 0, 0, 0}, codecLimits{}, nil); err == nil {
		t.Error("a capability decoded without capAt")
	}
}

func msgpackOf(t testing.TB, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCodec_DecodeForeign(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		pred string
	}{
		{"Go map", msgpackOf(t, map[string]any{"type": "inc", "by": 2, "tags": []string{"a"}}),
			`v.type === "inc" && v.by === 2 && v.tags[0] === "a"`},
		{"int keys", msgpackOf(t, map[int]string{1: "a"}), `v["1"] === "a"`},
		{"scalar keys", []byte{0x85, 0xc0, 0x01, 0xc3, 0x02, 0xff, 0x03, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x04, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05},
			`v["null"] === 1 && v["true"] === 2 && v["-1"] === 3 && v["1.5"] === 4 && v["18446744073709552000"] === 5`},
		{"duplicate keys", []byte{0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}, `v.a === 2 && Object.keys(v).length === 1`},
		{"float32", msgpackOf(t, float32(1.5)), `v === 1.5`},
		{"uint64 max", msgpackOf(t, uint64(1<<64-1)), `v === 2**64`},
		{"int64 min", msgpackOf(t, int64(-1<<63)), `v === -(2**63)`},
		{"int64 beyond 2^53", msgpackOf(t, int64(1<<53+1)), `v === 2**53 && typeof v === "number"`},
		{"uint8 code", []byte{0xcc, 0x05}, `v === 5`},
		{"non-minimal map header", []byte{0xde, 0x00, 0x01, 0xa1, 'a', 0x01}, `v.a === 1`},
		{"invalid UTF-8", []byte{0xa3, 'a', 0xff, 'b'}, `v === "a\uFFFDb"`},
		{"invalid UTF-8 long", append([]byte{0xd9, 40, 0xff}, bytes.Repeat([]byte{'x'}, 39)...), `v === "\uFFFD" + "x".repeat(39)`},
		{"invalid UTF-8 key", []byte{0x81, 0xa2, 0xc3, 0x28, 0x01}, `v["\uFFFD("] === 1`},
		{"timestamp 32", msgpackOf(t, time.Unix(1700000000, 0)), `v instanceof Date && v.getTime() === 1700000000000`},
		{"timestamp 64", msgpackOf(t, time.Unix(1700000000, 123456789)), `v instanceof Date && v.getTime() === 1700000000123`},
		{"timestamp 96", msgpackOf(t, time.Unix(-1, 5e8)), `v instanceof Date && v.getTime() === -500`},
		{"bin", msgpackOf(t, []byte("hi")), `v instanceof Uint8Array && v.length === 2 && v[1] === 105`},
		{"date out of range", []byte{0xd7, 0x03, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}, `v instanceof Date && Number.isNaN(v.getTime())`},
		{"date fraction", []byte{0xd7, 0x03, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, `v instanceof Date && v.getTime() === 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goja.New()
			v, err := decodeValue(r, tt.data, codecLimits{}, nil)
			if err != nil {
				t.Fatalf("decode %x: %v", tt.data, err)
			}
			jsCheck(t, r, v, tt.pred)
		})
	}
}

func TestCodec_DecodeMalformed(t *testing.T) {
	nest := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0x01) }
	tests := []struct {
		name    string
		data    []byte
		lim     codecLimits
		wantErr string
	}{
		{"empty", nil, codecLimits{}, "malformed message at msg: truncated"},
		{"reserved code", []byte{0xc1}, codecLimits{}, "invalid msgpack code 0xc1"},
		{"trailing bytes", []byte{0x01, 0x02}, codecLimits{}, "malformed message at msg: 1 trailing bytes after the value"},
		{"truncated int", []byte{0xcd, 0x01}, codecLimits{}, "truncated"},
		{"truncated float", []byte{0xcb, 0x01, 0x02}, codecLimits{}, "truncated"},
		{"truncated string", []byte{0xa5, 'a'}, codecLimits{}, "truncated"},
		{"huge array", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, codecLimits{}, "truncated: array of 4294967295 elements"},
		{"huge map", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01}, codecLimits{}, "truncated: map of 4294967295 entries"},
		{"huge string", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, codecLimits{}, "truncated"},
		{"huge bin", []byte{0xc6, 0xff, 0xff, 0xff, 0xff, 'a'}, codecLimits{}, "truncated"},
		{"huge ext", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, codecLimits{}, "extension type 1 of 4294967295 bytes"},
		{"array missing element", []byte{0x92, 0x01, 0xcd, 0x01}, codecLimits{}, "malformed message at msg[1]: truncated"},
		{"map missing value", []byte{0x81, 0xa1, 'k'}, codecLimits{}, "malformed message at msg.k: truncated"},
		{"unknown ext", []byte{0xd4, 0x09, 0x00}, codecLimits{}, "unknown extension type 9"},
		{"undefined with payload", []byte{0xd4, 0x01, 0x00}, codecLimits{}, "extension type 1 of 1 bytes"},
		{"capability of 2 bytes", []byte{0xd5, 0x02, 0x00, 0x00}, codecLimits{}, "extension type 2 of 2 bytes"},
		{"date of 4 bytes", []byte{0xd6, 0x03, 0, 0, 0, 0}, codecLimits{}, "extension type 3 of 4 bytes"},
		{"timestamp of 16 bytes", append([]byte{0xd8, 0xff}, make([]byte, 16)...), codecLimits{}, "extension type -1 of 16 bytes"},
		{"timestamp nanoseconds", []byte{0xc7, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, codecLimits{}, "timestamp with 4294967295 nanoseconds"},
		{"array key", []byte{0x81, 0x90, 0x01}, codecLimits{}, "unsupported map key (msgpack code 0x90)"},
		{"bin key", []byte{0x81, 0xc4, 0x00, 0x01}, codecLimits{}, "unsupported map key (msgpack code 0xc4)"},
		{"too deep", nest(65), codecLimits{}, "nested deeper than 64 levels"},
		{"too deep custom", nest(4), codecLimits{MaxDepth: 3}, "malformed message at msg[0][0][0]: nested deeper than 3 levels"},
		{"too long", []byte{0xa3, 'a', 'b', 'c'}, codecLimits{MaxBytes: 3}, "malformed message: 4 bytes, more than 3"},
		{"too much heap", []byte{0x92, 0x90, 0x90}, codecLimits{MaxHeap: 1000}, "malformed message at msg[0]: message would take more than 1000 bytes of JS values"},
		{"too much heap for a string", []byte{0xa3, 'a', 'b', 'c'}, codecLimits{MaxHeap: 34}, "more than 34 bytes of JS values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeValue(goja.New(), tt.data, tt.lim, nil)
			if err == nil {
				t.Fatalf("decoded %v, want error %q", v, tt.wantErr)
			}
			if !errors.Is(err, errMalformedMessage) {
				t.Errorf("error %v does not wrap errMalformedMessage", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if v != nil {
				t.Errorf("returned %v with the error", v)
			}
		})
	}
}

// TestCodec_DecodeIgnoresPrototypeSetters: decoding defines properties, so
// a setter a script put on Object.prototype never sees a message.
func TestCodec_DecodeIgnoresPrototypeSetters(t *testing.T) {
	r := goja.New()
	jsEval(t, r, `Object.defineProperty(Object.prototype, "type", {set(v) { globalThis.hit = v }, configurable: true})`)
	v, err := decodeValue(r, msgpackOf(t, map[string]any{"type": "x"}), codecLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsCheck(t, r, v, `Object.prototype.hasOwnProperty.call(v, "type") && v.type === "x" && globalThis.hit === undefined`)
}

// TestCodec_ReplacedConstructors: Dates and Uint8Arrays are built with the
// receiving runtime's globals; a replacement that does not build the real
// thing fails the decode instead of passing something else off as it.
func TestCodec_ReplacedConstructors(t *testing.T) {
	date, _ := hex.DecodeString("d7033ff0000000000000")
	bin := []byte{0xc4, 0x01, 0x07}
	tests := []struct {
		name, setup string
		data        []byte
		wantErr     string // "" for success
		pred        string
	}{
		{"fake Uint8Array", `globalThis.Uint8Array = function () { return {fake: true} }`, bin, "the global Uint8Array does not construct Uint8Arrays", ""},
		{"Int8Array as Uint8Array", `globalThis.Uint8Array = Int8Array`, bin, "the global Uint8Array does not construct Uint8Arrays", ""},
		{"copying Uint8Array", `globalThis.Uint8Array = (U => function (b) { return new U([1, 2]) })(Uint8Array)`, bin, "the global Uint8Array does not construct Uint8Arrays", ""},
		{"throwing Uint8Array", `globalThis.Uint8Array = function () { throw new Error("no") }`, bin, "new Uint8Array: no", ""},
		{"Uint8Array throwing an object with a throwing toString", `globalThis.Uint8Array = function () { throw {toString() { throw 1 }} }`, bin, "new Uint8Array: exception", ""},
		{"not a constructor", `globalThis.Uint8Array = () => 1`, bin, "new Uint8Array: ", ""},
		{"throwing global getter", `Object.defineProperty(globalThis, "Date", {get() { throw new Error("nope") }})`, date, "global Date: nope", ""},
		{"deleted Uint8Array", `delete globalThis.Uint8Array`, bin, "no global Uint8Array", ""},
		{"subclassed Uint8Array", `globalThis.Uint8Array = class extends Uint8Array {}`, bin, "", `v[0] === 7`},
		{"fake Date", `globalThis.Date = function () { return {} }`, date, "the global Date does not construct Dates", ""},
		{"wrong time Date", `globalThis.Date = (D => function () { return new D(5) })(Date)`, date, "the global Date does not construct Dates", ""},
		{"subclassed Date", `globalThis.Date = class extends Date {}`, date, "", `v.getTime() === 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goja.New()
			jsEval(t, r, tt.setup)
			v, err := decodeValue(r, tt.data, codecLimits{}, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				jsCheck(t, r, v, tt.pred)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCodec_ObjectKinds(t *testing.T) {
	if selfField < 0 {
		t.Fatal("goja.Object has no interface field named self: classifyObject cannot work")
	}
	r := goja.New()
	seen := map[objKind]bool{}
	for _, p := range objectKindProbes {
		v, err := r.RunString("(" + p.src + ")")
		if err != nil {
			t.Logf("probe %s not supported: %v", p.src, err)
			continue
		}
		kind, name := classifyObject(v.(*goja.Object))
		if kind != p.kind || name != p.name {
			t.Errorf("classifyObject(%s) = %d %q, want %d %q", p.src, kind, name, p.kind, p.name)
		}
		seen[kind] = true
	}
	for _, k := range []objKind{objPlain, objArray, objError, objDate, objTypedArray, objRefused} {
		if !seen[k] {
			t.Errorf("no probe classified as kind %d", k)
		}
	}
	// Objects the host builds are plain objects and arrays.
	if k, _ := classifyObject(r.NewObject()); k != objPlain {
		t.Errorf("classifyObject(NewObject()) = %d", k)
	}
	if k, _ := classifyObject(r.NewArray(1)); k != objArray {
		t.Errorf("classifyObject(NewArray(1)) = %d", k)
	}
	if k, _ := classifyObject(r.CreateObject(nil)); k != objPlain {
		t.Errorf("classifyObject(CreateObject(nil)) = %d", k)
	}
}

// TestCodec_ConcurrentRuntimes decodes and encodes in many runtimes at once;
// run with -race, it checks that pooled and interned state is not shared
// unsafely.
func TestCodec_ConcurrentRuntimes(t *testing.T) {
	r0 := goja.New()
	data, err := encodeValue(r0, jsEval(t, r0, `{type: "inc", by: 2, name: "héllo", k: ["a", "b", "ü"], d: new Date(3), b: new Uint8Array([1])}`), codecLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := goja.New()
			for i := 0; i < 200; i++ {
				v, err := decodeValue(r, data, codecLimits{}, nil)
				if err != nil {
					errs <- err
					return
				}
				out, err := encodeValue(r, v, codecLimits{}, nil)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(out, data) {
					errs <- fmt.Errorf("re-encoded %x, want %x", out, data)
					return
				}
				if s := v.(*goja.Object).Get("name").String() + v.(*goja.Object).Get("k").String(); s != "hélloa,b,ü" {
					errs <- fmt.Errorf("got %q", s)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

const (
	codecSmallMessage  = `{type: "inc", by: 2}`
	codecNestedMessage = `{type: "order", id: 12345, user: {name: "Ada", email: "ada@example.com", tags: ["admin", "beta"]},
		items: [{sku: "X1", qty: 2, price: 9.99}, {sku: "Y2", qty: 1, price: 0.5}], total: 20.48, paid: true,
		note: null, at: 1700000000000, meta: {source: "web", retries: 0}}`
)

func benchmarkCodecEncode(b *testing.B, src string) {
	r := goja.New()
	v := jsEval(b, r, src)
	data, err := encodeValue(r, v, codecLimits{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeValue(r, v, codecLimits{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkCodecDecode(b *testing.B, src string) {
	r := goja.New()
	data, err := encodeValue(r, jsEval(b, r, src), codecLimits{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeValue(r, data, codecLimits{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodec_EncodeSmall(b *testing.B)  { benchmarkCodecEncode(b, codecSmallMessage) }
func BenchmarkCodec_DecodeSmall(b *testing.B)  { benchmarkCodecDecode(b, codecSmallMessage) }
func BenchmarkCodec_EncodeNested(b *testing.B) { benchmarkCodecEncode(b, codecNestedMessage) }
func BenchmarkCodec_DecodeNested(b *testing.B) { benchmarkCodecDecode(b, codecNestedMessage) }

// BenchmarkCodec_ExportMarshal is the baseline the codec replaces:
// Export() then msgpack.Marshal.
func BenchmarkCodec_ExportMarshal(b *testing.B) {
	for _, m := range []struct{ name, src string }{{"Small", codecSmallMessage}, {"Nested", codecNestedMessage}} {
		b.Run(m.name, func(b *testing.B) {
			r := goja.New()
			v := jsEval(b, r, m.src)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := msgpack.Marshal(v.Export()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCodec_PlainKeysLayout: the fields plainKeys reads are where it
// expects them, and for every kind of object it lists exactly the keys
// goja's Keys does, or declines.
func TestCodec_PlainKeysLayout(t *testing.T) {
	if _, err := plainLayout(); err != nil {
		t.Fatalf("goja's plain object layout is not the one Cloister knows: %v", err)
	}
	r := goja.New()
	for _, tc := range []struct {
		src  string
		fast bool
	}{
		{`({type: "inc", by: 1})`, true},
		{`({})`, true},
		{`({"": 1, a: 2})`, true},
		{`const o = {a: 1, b: 2, c: 3}; delete o.b; o.d = 4; o`, true},
		{`Object.defineProperty({a: 1}, "hidden", {value: 2, enumerable: false})`, true},
		{`Object.defineProperty({a: 1}, "ro", {value: 2, enumerable: true})`, true},
		{`({get g() { return 1 }, a: 2})`, true},
		{`({b: 1, 2: 2, 1: 3})`, false},
		{`({é: 1})`, false},
		{`({"0x": 1, a: 2})`, false},
		{`[1, 2]`, false},
		{`new Map()`, false},
		{`new Proxy({a: 1}, {})`, false},
		{`(function () { return arguments })(1, 2)`, false},
	} {
		v, err := r.RunString(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		o := v.(*goja.Object)
		got, _, ok := plainKeys(o, []string{"x"})
		if ok != tc.fast {
			t.Errorf("%s: read directly %v, want %v", tc.src, ok, tc.fast)
			continue
		}
		if !ok {
			if len(got) != 1 {
				t.Errorf("%s: declined but left %q", tc.src, got)
			}
			continue
		}
		want := append([]string{"x"}, o.Keys()...)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: keys %q, Keys() %q", tc.src, got, want)
		}
	}
}

// TestCodec_DecodedObjectAsDefined: an object the decoder fills directly
// is the object DefineDataProperty would have made key by key: the same
// own keys in the same order, the same descriptors and values, with a
// repeated key (the last value wins, in the first one's place),
// "__proto__" as an own property, index-like and non-ASCII keys.
func TestCodec_DecodedObjectAsDefined(t *testing.T) {
	type kv struct {
		k string
		v any
	}
	for _, entries := range [][]kv{
		{{"type", "inc"}, {"by", 1}},
		{{"a", 1}, {"b", 2}, {"a", 3}},
		{{"__proto__", map[string]any{"polluted": true}}, {"x", 1}},
		{{"b", 1}, {"2", 2}, {"1", 3}, {"z", 4}},
		{{"é", 1}, {"ß", 2}, {"a", 3}},
		{{"", 0}, {"nested", map[string]any{"k": "v"}}},
	} {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		_ = enc.EncodeMapLen(len(entries))
		for _, e := range entries {
			_ = enc.EncodeString(e.k)
			_ = enc.Encode(e.v)
		}
		r := goja.New()
		got, err := decodeValue(r, buf.Bytes(), codecLimits{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := r.NewObject()
		for _, e := range entries {
			v, err := decodeValue(r, mustMarshal(t, e.v), codecLimits{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := want.DefineDataProperty(e.k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				t.Fatal(err)
			}
		}
		show, err := r.RunString(`(o) => JSON.stringify([Reflect.ownKeys(o), Object.getOwnPropertyDescriptors(o),
			Object.getPrototypeOf(o) === Object.prototype, Object.isExtensible(o), o.polluted, ({}).polluted])`)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := goja.AssertFunction(show)
		g, err := f(goja.Undefined(), got)
		if err != nil {
			t.Fatal(err)
		}
		w, err := f(goja.Undefined(), want)
		if err != nil {
			t.Fatal(err)
		}
		if g.String() != w.String() {
			t.Errorf("%v:\n decoded %s\n defined %s", entries, g, w)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCodec_PlainMakerLayout: the decoder's objects are made as goja's
// NewObject makes them (the probe compares every field), and behave as
// such under everything a script does to an object afterwards, for lists
// held inline and not.
func TestCodec_PlainMakerLayout(t *testing.T) {
	m, err := plainMaker()
	if err != nil {
		t.Fatalf("goja's plain object layout is not the one Cloister knows: %v", err)
	}
	r := goja.New()
	ops, err := r.RunString(`(o, n) => {
		for (let i = 0; i < n; i++) o["k" + i] = i;
		o[7] = "seven"; o[2] = "two"; o.z = 1;
		delete o.k0;
		o.k1 = "again";
		Object.defineProperty(o, "hidden", {value: 1, enumerable: false});
		const before = JSON.stringify([Reflect.ownKeys(o), Object.getOwnPropertyDescriptors(o)]);
		Object.freeze(o);
		"use strict";
		let threw = false;
		try { (function () { "use strict"; o.added = 1 })() } catch (e) { threw = e instanceof TypeError }
		return JSON.stringify([before, Object.getPrototypeOf(o) === Object.prototype, Object.isFrozen(o),
			threw, o.added, o instanceof Object, typeof o, String(o), {...o}, Object.entries(o)]);
	}`)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := goja.AssertFunction(ops)
	for n := 0; n <= maxInlineNames+4; n++ {
		mine, names, values := m.make(r, n)
		if len(*names) != 0 || len(values) != 0 || n > 0 && cap(*names) != n {
			t.Fatalf("make(%d): list %d/%d, map %d", n, len(*names), cap(*names), len(values))
		}
		// Fill as the decoder does, then let the script go on.
		for i := 0; i < n; i++ {
			name := unistring.String("p" + strconv.Itoa(i))
			values[name] = r.ToValue(i)
			*names = append(*names, name)
		}
		ref := r.NewObject()
		for i := 0; i < n; i++ {
			if err := ref.DefineDataProperty("p"+strconv.Itoa(i), r.ToValue(i), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f(goja.Undefined(), mine, r.ToValue(n))
		if err != nil {
			t.Fatal(err)
		}
		want, err := f(goja.Undefined(), ref, r.ToValue(n))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("n=%d:\n made %s\n  new %s", n, got, want)
		}
	}
}

// TestCodec_InternedKeysAndStrings: keys and short strings come back
// right whether they are new, repeated, evicted by a colliding one, not
// ASCII or not valid UTF-8; and a repeated small message allocates only
// its object.
func TestCodec_InternedKeysAndStrings(t *testing.T) {
	r := goja.New()
	check := func(data []byte, pred string) {
		t.Helper()
		v, err := decodeValue(r, data, codecLimits{}, nil)
		if err != nil {
			t.Fatalf("decode %x: %v", data, err)
		}
		jsCheck(t, r, v, pred)
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 3*internSlots; i++ {
			k := "key" + strconv.Itoa(i)
			check(msgpackOf(t, map[string]any{k: k, "type": "inc"}),
				fmt.Sprintf(`Object.keys(v).length === 2 && v[%q] === %q && v.type === "inc"`, k, k))
		}
		check(msgpackOf(t, map[string]any{"é": "é", "ß😀": "x"}), `v["é"] === "é" && v["ß😀"] === "x" && Object.keys(v).length === 2`)
		check([]byte{0x82, 0xa2, 0xc3, 0x28, 0xa2, 0xc3, 0x28, 0xa1, 'a', 0xa0}, `v["\uFFFD("] === "\uFFFD(" && v.a === ""`)
		check([]byte{0x82, 0xa0, 0x01, 0xa1, 'b', 0x02}, `v[""] === 1 && v.b === 2`)
	}
	if codecRace {
		return
	}
	data := msgpackOf(t, map[string]any{"type": "inc", "by": 1})
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := decodeValue(r, data, codecLimits{}, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("decoding {type: \"inc\", by: 1} again allocates %v times, want at most 3 (object, map, map group)", allocs)
	}
}

// TestCodec_AppendLikeMsgpack: the encoder's append functions write the
// bytes the msgpack library's Encoder writes, at and around every
// boundary between two forms.
func TestCodec_AppendLikeMsgpack(t *testing.T) {
	var lib bytes.Buffer
	enc := msgpack.NewEncoder(&lib)
	same := func(what string, mine []byte, write func() error) {
		t.Helper()
		lib.Reset()
		if err := write(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mine, lib.Bytes()) {
			t.Errorf("%s: wrote %x, the msgpack library %x", what, mine, lib.Bytes())
		}
	}
	var ints []int64
	for _, edge := range []int64{0, 1 << 7, 1 << 8, 1 << 15, 1 << 16, 1 << 31, 1 << 32, 1 << 53, 1 << 62, 32, 33} {
		for d := int64(-2); d <= 2; d++ {
			ints = append(ints, edge+d, -edge+d)
		}
	}
	ints = append(ints, math.MaxInt64, math.MinInt64, math.MaxInt64-1, math.MinInt64+1)
	for _, n := range ints {
		same(fmt.Sprintf("int %d", n), appendInt(nil, n), func() error { return enc.EncodeInt(n) })
		if n >= 0 {
			same(fmt.Sprintf("uint %d", n), appendUint(nil, uint64(n)), func() error { return enc.EncodeUint(uint64(n)) })
		}
	}
	same("uint max", appendUint(nil, math.MaxUint64), func() error { return enc.EncodeUint(math.MaxUint64) })
	for _, f := range []float64{0, math.Copysign(0, -1), 1.5, math.NaN(), math.Inf(-1), 1e300} {
		same(fmt.Sprintf("float %v", f), appendFloat64(nil, f), func() error { return enc.EncodeFloat64(f) })
	}
	same("true", appendBool(nil, true), func() error { return enc.EncodeBool(true) })
	same("false", appendBool(nil, false), func() error { return enc.EncodeBool(false) })
	for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33, 255, 256, 65535, 65536, 70000} {
		s := strings.Repeat("x", n)
		same(fmt.Sprintf("string of %d", n), appendString(nil, s), func() error { return enc.EncodeString(s) })
		same(fmt.Sprintf("bin of %d", n), appendBytesLen(nil, n), func() error { return enc.EncodeBytesLen(n) })
		same(fmt.Sprintf("map of %d", n), appendMapLen(nil, n), func() error { return enc.EncodeMapLen(n) })
		same(fmt.Sprintf("array of %d", n), appendArrayLen(nil, n), func() error { return enc.EncodeArrayLen(n) })
		for _, id := range []int8{extUndefined, extCapability, extDate, -1, -128, 127} {
			same(fmt.Sprintf("ext %d of %d", id, n), appendExtHeader(nil, id, n), func() error { return enc.EncodeExtHeader(id, n) })
		}
	}
}

// TestCodec_PlainValuesAsGet: reading a plain object's values from its
// map gives what property reads give, also when a getter changes the
// object during the walk.
func TestCodec_PlainValuesAsGet(t *testing.T) {
	for _, tc := range []struct{ src, pred string }{
		{`({a: 1, get b() { return 2 }, c: 3})`, `v.a === 1 && v.b === 2 && v.c === 3`},
		{`Object.defineProperty({a: 1, c: 3}, "ro", {value: 4, enumerable: true})`, `v.ro === 4 && Object.keys(v).join() === "a,c,ro"`},
		{`(() => { Object.prototype.later = "inherited";
			const o = {get first() { delete this.later; this.c = "changed"; return 1 }, later: "own", c: 0};
			return o })()`, `v.first === 1 && v.later === "inherited" && v.c === "changed"`},
		{`({get first() { delete this.gone; return 1 }, gone: 2, kept: 3})`, `v.first === 1 && !("gone" in v) && v.kept === 3`},
		{`({x: undefined, y: null, z: {w: [1, {q: "r"}]}})`, `"x" in v && v.x === undefined && v.y === null && v.z.w[1].q === "r"`},
		{`Object.defineProperty([1, 2, 3], 1, {get() { return "got" }, enumerable: true})`, `v.join() === "1,got,3"`},
		{`(() => { Array.prototype[1] = "inherited"; return [0, , 2] })()`, `v[1] === "inherited" && v.length === 3`},
		{`(() => { const a = [{get x() { a.length = 1; return 1 }}, "gone", "gone"]; return a })()`,
			`v.length === 3 && v[0].x === 1 && v[1] === undefined && v[2] === undefined`},
		{`(() => { const a = [{get x() { a[2] = "late"; return 1 }}, 1, 2]; return a })()`, `v[2] === "late"`},
		{`(a => (a[100] = 1, a))([0])`, `v.length === 101 && v[0] === 0 && v[1] === undefined && v[100] === 1`},
	} {
		r := goja.New()
		v := jsEval(t, r, tc.src)
		data, err := encodeValue(r, v, codecLimits{}, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		r2 := goja.New()
		got, err := decodeValue(r2, data, codecLimits{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jsCheck(t, r2, got, tc.pred)
	}
}

// TestCodec_ArrayMakerLayout: the decoder's arrays are made as goja's
// NewArray makes them (the probe compares every field), and behave as
// such under everything a script does to an array afterwards, with
// elements held inline and not; a runtime that has no array prototype yet
// gets its arrays from NewArray.
func TestCodec_ArrayMakerLayout(t *testing.T) {
	m, err := arrMaker()
	if err != nil {
		t.Fatalf("goja's array layout is not the one Cloister knows: %v", err)
	}
	fresh := goja.New()
	if _, _, ok := m.make(fresh, 1); ok {
		t.Fatalf("made an array in a runtime without an array prototype")
	}
	v, err := decodeValue(fresh, msgpackOf(t, []any{[]any{1}, []any{"a", []any{}}}), codecLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsCheck(t, fresh, v, `Array.isArray(v) && v.length === 2 && v[0][0] === 1 && v[1][0] === "a" && Array.isArray(v[1][1]) && v[1][1].length === 0 && v[1] instanceof Array`)

	r := goja.New()
	r.NewArray() // makes the array prototype
	ops, err := r.RunString(`(a) => {
		const out = [JSON.stringify(a), a.length, Array.isArray(a), a instanceof Array, Object.keys(a).join(),
			JSON.stringify(Object.getOwnPropertyDescriptor(a, "length")), JSON.stringify(Object.getOwnPropertyDescriptors(a))];
		a.push("p"); a.unshift("u"); out.push(JSON.stringify(a), a.pop(), a.shift());
		a.length = 1; out.push(JSON.stringify(a), a.length);
		a[5] = "five"; out.push(JSON.stringify(a), a.length, 3 in a);
		a.x = 1; out.push(Object.keys(a).join(), Reflect.ownKeys(a).join());
		a.splice(0, 1, "s", "t"); a.sort(); out.push(JSON.stringify(a));
		a[1e6] = 0; out.push(a.length, Object.keys(a).length);
		Object.defineProperty(a, "length", {writable: false}); let threw = false;
		try { (function () { "use strict"; a.push(1) })() } catch (e) { threw = e instanceof TypeError }
		out.push(threw, Object.isFrozen(Object.freeze(a)), [...a.slice(0, 3)].join());
		return JSON.stringify(out);
	}`)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := goja.AssertFunction(ops)
	for n := 0; n <= maxInlineElems+4; n++ {
		items := make([]any, n)
		for i := range items {
			items[i] = r.ToValue(fmt.Sprintf("e%d", i))
		}
		mine, elems, ok := m.make(r, n)
		if !ok || len(elems) != n {
			t.Fatalf("make(%d): %d elements, %v", n, len(elems), ok)
		}
		for i := range elems {
			elems[i] = items[i].(goja.Value)
		}
		got, err := f(goja.Undefined(), mine)
		if err != nil {
			t.Fatal(err)
		}
		want, err := f(goja.Undefined(), r.NewArray(items...))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("n=%d:\n made %s\n  new %s", n, got, want)
		}
	}
}
