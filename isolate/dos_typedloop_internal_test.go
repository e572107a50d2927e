package isolate

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"github.com/dop251/goja"
)

// typedLoopOps are calls of the chunked typed array methods
// (dos_typedloop.go), with bounds that fall inside, across and outside
// chunks, and arguments whose conversion logs its order.
var typedLoopOps = []string{
	`a.fill(V)`, `a.fill(V, 5)`, `a.fill(V, -70000)`, `a.fill(V, 70000, 140000)`,
	`a.fill(V, -1e9, 1e9)`, `a.fill(V, NaN, Infinity)`, `a.fill(V, 3, 2)`,
	`a.fill(V, undefined, null)`, `a.fill(V, 65535, 65537)`, `a.fill(V, 1.7, -0.5)`,
	`a.fill(obj(V), obj(10), obj(-10))`, `a.fill("7", "65536")`, `a.fill(obj("-12"), 1)`,
	`a.reverse()`,
	`a.copyWithin(0, 3)`, `a.copyWithin(5, 0)`, `a.copyWithin(-70000, 0, 100000)`,
	`a.copyWithin(100, 50, 70000)`, `a.copyWithin(0, 0)`, `a.copyWithin(1e9, 0)`,
	`a.copyWithin(obj(65536), obj(1), obj(-1))`, `a.copyWithin(0, 140000, 10)`,
	`a.set(base.subarray(3))`, `a.set(base.subarray(0, 70000), 100)`, `a.set(a.subarray(0, 70000), 5)`,
	`a.set(a.subarray(5, 70005))`, `a.set(base, 1)`, `a.set(base.subarray(1), obj(1))`, `a.set(base.subarray(1), -1)`,
	`a.set(new Float64Array(70000).fill(1.5), 7)`, `a.set(new Int8Array(70000).fill(-3))`,
	`a.set(new Uint8ClampedArray(70000).fill(200), 9)`, `a.set(new BigInt64Array(70000).fill(-5n), 2)`,
	`a.set(new BigUint64Array(70000).fill(5n))`, `a.set(new Float32Array(a.buffer, 0, 70000), 3)`,
	`a.set(new Uint8Array(a.buffer, 8, 70000), 1000)`, `a.set(new Int16Array(a.buffer, 2, 70000))`,
}

// typedSearchFor are searched for with each search method, and some of
// them from each of typedSearchFroms.
var (
	typedSearchFor     = []string{"S", "V", "-100", "0", "-0", "NaN", "0.5", "1.5", `"1"`, "300", "1n", "undefined"}
	typedSearchFroms   = []string{"", ", 0", ", -5", ", 70000", ", 2e5", ", -1e9", ", undefined", ", NaN", ", obj(65540)"}
	typedSearchMethods = []string{"includes", "indexOf", "lastIndexOf"}
)

// The chunked typed array methods store, move and find what goja's own
// methods do, on every kind of typed array, for arrays long enough to be
// chunked.
func TestTypedLoop_SameAsGoja(t *testing.T) {
	n := 2*typedChunk + 7
	var ops []string
	ops = append(ops, typedLoopOps...)
	for _, m := range typedSearchMethods {
		for _, x := range typedSearchFor {
			ops = append(ops, "a."+m+"("+x+")")
		}
		for _, x := range []string{"S", "-0", "NaN"} {
			for _, from := range typedSearchFroms[1:] {
				ops = append(ops, "a."+m+"("+x+from+")")
			}
		}
	}
	for k, c := range typedArrayCtors {
		if raceSlowdown > 1 && k%4 != 0 {
			continue // three kinds are enough to race; the detector slows goja 40 times
		}
		big := c.name == "BigInt64Array" || c.name == "BigUint64Array"
		elem, v, s := "(i * 7) % 251 - 100 + (i % 3 ? 0.5 : 0)", "42", "17"
		if big {
			elem, v, s = "BigInt((i * 7) % 251 - 100)", "42n", "17n"
		}
		setup := fmt.Sprintf(`
			var log = [];
			function obj(x) { return { valueOf() { log.push(String(x)); return x; } }; }
			var base = new %s(%d);
			for (let i = 0; i < base.length; i++) base[i] = %s;
			base[77777] = %s; base[130000] = %s;
			if (!%v) { base[99999] = -0; base[99998] = NaN; }`, c.name, n, elem, s, s, big)
		i := guardedRuntime(t)
		i.builtins.enableBigInt()
		plain := goja.New()
		for _, r := range []*goja.Runtime{i.rt, plain} {
			if _, err := r.RunString(setup); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		for _, op := range ops {
			prog := fmt.Sprintf(`(() => { log = []; const V = %s, S = %s; const a = base.slice();
				let r; try { r = %s; r = r === a ? "this" : String(r); } catch (e) { r = e.name; }
				return [a, r + " " + log.join()]; })()`, v, s, op)
			got, gerr := i.rt.RunString(prog)
			want, werr := plain.RunString(prog)
			if gerr != nil || werr != nil {
				t.Fatalf("%s %s: guarded: %v; goja: %v", c.name, op, gerr, werr)
			}
			ga, gr := typedLoopResult(t, i.rt, got)
			wa, wr := typedLoopResult(t, plain, want)
			if gr != wr {
				t.Errorf("%s %s: returned %q, goja %q", c.name, op, gr, wr)
			}
			if !bytes.Equal(ga, wa) {
				t.Errorf("%s %s: the array differs from goja's from element %d", c.name, op, firstDiff(ga, wa)/int(c.size))
			}
		}
	}
}

// typedLoopResult splits a [array, string] result into the array's bytes
// and the string.
func typedLoopResult(t *testing.T, r *goja.Runtime, v goja.Value) ([]byte, string) {
	t.Helper()
	pair := v.(*goja.Object)
	a := pair.Get("0").(*goja.Object)
	rv := reflect.ValueOf(a.Export())
	if rv.Kind() != reflect.Slice || rv.Len() == 0 {
		t.Fatalf("not a typed array: %v", a)
	}
	n := rv.Len() * int(rv.Type().Elem().Size())
	return append([]byte(nil), unsafe.Slice((*byte)(rv.UnsafePointer()), n)...), pair.Get("1").String()
}

func firstDiff(a, b []byte) int {
	for k := range min(len(a), len(b)) {
		if a[k] != b[k] {
			return k
		}
	}
	return min(len(a), len(b))
}

// copyWithin on a view stays inside the view, as the spec has it (goja's
// own can write past the view's end into the rest of its buffer).
func TestTypedLoop_CopyWithinStaysInsideItsView(t *testing.T) {
	i := guardedRuntime(t)
	v, err := i.rt.RunString(fmt.Sprintf(`
		const buf = new ArrayBuffer(%d);
		const whole = new Uint8Array(buf);
		const view = new Uint8Array(buf, 0, %d);
		view.fill(1);
		view.copyWithin(%d, 0);
		whole.indexOf(1, %d)`, 3*typedChunk, 2*typedChunk, typedChunk+10, 2*typedChunk))
	if err != nil {
		t.Fatal(err)
	}
	if v.ToInteger() != -1 {
		t.Fatalf("copyWithin wrote past its view, at byte %v", v)
	}
}

// The constructor a chunk's view is made with is the array's own, read
// from goja's private field: this fails loudly if the field moves.
func TestTypedLoop_ViewConstructorIsTheArrays(t *testing.T) {
	i := guardedRuntime(t)
	i.builtins.enableBigInt()
	for _, c := range typedArrayCtors {
		v, err := i.rt.RunString("new " + c.name + "(1)")
		if err != nil {
			t.Fatal(err)
		}
		if got := typedCtorOf(v.(*goja.Object)); got == nil || !got.SameAs(i.builtins.origGlobal(c.name)) {
			t.Errorf("%s: typedCtorOf gave %v", c.name, got)
		}
	}
	if typedCtorOf(i.rt.NewArray(1)) != nil {
		t.Error("an array has a typed array's constructor")
	}
}

// FuzzTypedLoops compares the chunked typed array methods with goja's own
// on arrays just past the chunk size, with mutated bounds and values:
// reverse, copyWithin and set from an array of the same kind are
// Cloister's own code (dos_typedloop.go), fill and the searches call
// goja's per chunk.
func FuzzTypedLoops(f *testing.F) {
	f.Add(uint8(8), uint16(7), uint8(0), int32(3), int32(-5), int32(70000), int32(42))
	f.Add(uint8(0), uint16(0), uint8(1), int32(-70000), int32(1), int32(0), int32(-1))
	f.Add(uint8(9), uint16(65535), uint8(4), int32(65536), int32(2), int32(-1), int32(7))
	f.Add(uint8(2), uint16(1), uint8(6), int32(10), int32(0), int32(0), int32(200))
	f.Fuzz(func(t *testing.T, kind uint8, extra uint16, op uint8, x, y, z, v int32) {
		c := typedArrayCtors[int(kind)%len(typedArrayCtors)]
		big := c.name == "BigInt64Array" || c.name == "BigUint64Array"
		num := func(k int32) string {
			if big {
				return fmt.Sprintf("%dn", k)
			}
			return fmt.Sprint(k)
		}
		n := typedChunk + 1 + int(extra)
		ops := []string{
			"a.reverse()",
			fmt.Sprintf("a.copyWithin(%d, %d, %d)", x, y, z),
			fmt.Sprintf("a.copyWithin(%d, %d)", x, y),
			fmt.Sprintf("a.fill(%s, %d, %d)", num(v), x, y),
			fmt.Sprintf("a.includes(%s, %d)", num(v), x),
			fmt.Sprintf("a.indexOf(%s, %d)", num(v), x),
			fmt.Sprintf("a.lastIndexOf(%s, %d)", num(v), x),
			fmt.Sprintf("a.set(a.subarray(%d), %d)", y, x),
			fmt.Sprintf("a.set(new %s(a.buffer, %d, %d), %d)", c.name, (int(y)&0xffff)*int(c.size), typedChunk+1, x),
		}
		prog := fmt.Sprintf(`(() => { const a = new %[1]s(%[2]d);
			for (let i = 0; i < a.length; i += 997) a[i] = %[3]s;
			a.fill(%[4]s, %[5]d, %[6]d);
			let r; try { r = %[7]s; r = r === a ? "this" : String(r); } catch (e) { r = e.name; }
			return [a, r]; })()`, c.name, n, map[bool]string{true: "BigInt(i % 251)", false: "i % 251"}[big],
			num(v), y, z, ops[int(op)%len(ops)])
		i := guardedRuntime(t)
		i.builtins.enableBigInt()
		got, gerr := i.rt.RunString(prog)
		want, werr := goja.New().RunString(prog)
		if gerr != nil || werr != nil {
			t.Fatalf("%s\nguarded: %v; goja: %v", prog, gerr, werr)
		}
		ga, gr := typedLoopResult(t, i.rt, got)
		wa, wr := typedLoopResult(t, nil, want)
		if gr != wr {
			t.Fatalf("%s\nreturned %q, goja %q", prog, gr, wr)
		}
		if !bytes.Equal(ga, wa) {
			t.Fatalf("%s\nthe array differs from goja's from element %d", prog, firstDiff(ga, wa)/int(c.size))
		}
	})
}
