package isolate

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// Cloister runs its own implementation of some builtins (dos.go): join,
// includes, indexOf and lastIndexOf, and the coercing paths of concat,
// flat, sort, Array.from and the typed-array constructors. These fuzz
// targets compare each with goja's own, run in a plain runtime, on benign
// inputs:
//
//	go test -run '^$' -fuzz FuzzArrayBuiltins ./isolate/

// fuzzElems are the elements a fuzzed array is made of: numbers, -0, NaN,
// strings, undefined, null, nested arrays, objects and holes.
var fuzzElems = []string{"0", "-0", "1", "NaN", "'1'", "'a'", "undefined", "null", "[1,[2]]", "[]", "({})", "true", "", "2.5", "[,]"}

// fuzzCalls are the calls made on the fuzzed receiver r with argument x and index n.
var fuzzCalls = []string{
	"r.includes(x)", "r.includes(x, n)", "r.indexOf(x)", "r.indexOf(x, n)", "r.lastIndexOf(x)", "r.lastIndexOf(x, n)",
	"r.join()", "r.join(x)", "String(r)", "r.toString()",
	"Array.prototype.includes.call(o, x, n)", "Array.prototype.indexOf.call(o, x, n)", "Array.prototype.lastIndexOf.call(o, x, n)",
	"Array.prototype.join.call(o, x)",
	"a.flat(n)", "a.flat(Infinity)", // goja's own flat recurses without end on a cycle "r.concat(o, r)", "[].concat(s)",
	"Array.prototype.sort.call(o)", "r.slice().sort()", "r.toSorted()",
	"Array.prototype.map.call(o, (v, i) => typeof v + i)", "Array.prototype.filter.call(o, (v) => v)",
	"Array.prototype.reverse.call(o)", "Array.prototype.splice.call(o, 1, 1, x)", "Array.prototype.shift.call(o)",
	"Array.prototype.unshift.call(o, x)", "Array.prototype.copyWithin.call(o, 0, 1)", "Array.prototype.slice.call(o, n)",
	"Array.prototype.reduce.call(o, (a, v) => a + String(v), '')", "Array.prototype.findLastIndex.call(o, (v) => v === x)",
	"Array.prototype.toSpliced.call(o, 0, 1)", "Array.prototype.with.call(o, 0, x)", "Array.prototype.every.call(o, (v) => v !== x)",
	"r.map((v) => v)", "r.toReversed()", "r.slice(n)",
	"JSON.stringify({b: r, a: o, c: {a: 1, b: [o]}}, ['c', 'a', x, n])", "JSON.stringify(o, [n, '0', x])",
	"Array.from(o)", "Array.from(r, (v, i) => i)", "new Int16Array(o)", "Uint8Array.from(o)", "new Float64Array(r.filter(v => typeof v === 'number'))",
}

// fuzzProgram builds the program of one fuzz input.
func fuzzProgram(data []byte, call uint8, x uint8, n float64) string {
	elems := make([]string, 0, len(data))
	for _, c := range data {
		elems = append(elems, fuzzElems[int(c)%len(fuzzElems)])
	}
	arr := "[" + strings.Join(elems, ",") + "]"
	if len(elems) > 0 && elems[len(elems)-1] == "" {
		arr = "[" + strings.Join(elems, ",") + ",]"
	}
	num := fmt.Sprint(n)
	if math.IsNaN(n) {
		num = "NaN"
	} else if math.IsInf(n, 0) {
		num = fmt.Sprintf("%sInfinity", map[bool]string{true: "-", false: ""}[n < 0])
	}
	return fmt.Sprintf(`(() => {
		const r = %s;
		const a = r.slice();
		r.push(r); // a cycle
		const o = {length: r.length - 1}; for (let k = 0; k < r.length - 1; k++) if (k in r) o[k] = r[k];
		const s = {length: o.length, [Symbol.isConcatSpreadable]: true}; Object.assign(s, o);
		const x = %s, n = %s;
		const show = (v, d = 0) => { try { return typeof v + ":" + (d > 3 ? "..." : typeof v === "object" && v !== null ? (Array.isArray(v) || ArrayBuffer.isView(v) ? "[" + Array.prototype.map.call(v, (e) => show(e, d + 1)).join("|") + "]" : Object.keys(v).map(k => k + "=" + show(v[k], d + 1)).join("|")) : String(v)); } catch (e) { return "!" + e.name; } };
		try { const v = %s; return show(v) + " o=" + show(o); } catch (e) { return "threw " + e.name; }
	})()`, arr, fuzzElems[int(x)%len(fuzzElems)], num, fuzzCalls[int(call)%len(fuzzCalls)])
}

func FuzzArrayBuiltins(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint8(0), uint8(3), 0.0)
	f.Add([]byte{3, 3, 12, 5}, uint8(2), uint8(3), -2.0)
	f.Add([]byte{8, 9, 12, 14}, uint8(14), uint8(0), 2.0)
	f.Add([]byte{4, 5, 6, 7, 12}, uint8(8), uint8(5), math.Inf(1))
	f.Add([]byte{}, uint8(4), uint8(1), math.NaN())
	f.Add([]byte{1, 0, 2}, uint8(18), uint8(0), -1.0)
	f.Add([]byte{0, 13, 2, 12}, uint8(22), uint8(0), 1.0)
	i := guardedRuntime(f)
	i.rt.SetMaxCallStackSize(500)
	plain := goja.New()
	plain.SetMaxCallStackSize(500)
	f.Fuzz(func(t *testing.T, data []byte, call uint8, x uint8, n float64) {
		if len(data) > 64 {
			data = data[:64]
		}
		prog := fuzzProgram(data, call, x, n)
		want, err := plain.RunString(prog)
		if err != nil {
			t.Skip() // not a benign input for goja itself
		}
		got, err := i.rt.RunString(prog)
		if err != nil {
			t.Fatalf("%s\nguarded: %v\ngoja: %v", prog, err, want)
		}
		if got.String() != want.String() && !gojaDeviation(prog, got.String(), want.String()) {
			t.Fatalf("%s\nguarded: %v\ngoja:    %v", prog, got, want)
		}
	})
}

// gojaDeviation recognises the one known place where goja departs from the
// spec and Cloister does not: goja's includes compares with SameValue, so
// [-0].includes(0) is false there; SameValueZero makes it true.
func gojaDeviation(prog, got, want string) bool {
	return strings.Contains(prog, "includes") && strings.Contains(prog, "-0") &&
		strings.Replace(want, "boolean:false", "boolean:true", 1) == got
}
