package isolate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
)

// restPrograms destructure with object rests in every place the rewrite
// (dos_rest.go) changes: declarations of each kind, nested patterns,
// assignments, parameters, for-in and for-of heads, catch clauses. Each
// is run rewritten and as goja compiles it; the results must be the same.
var restPrograms = []string{
	`(() => { const {a, ...r} = {a: 1, b: 2, c: 3}; return JSON.stringify([a, r]); })()`,
	`(() => { const {x: {y, ...r}, z} = {x: {y: 1, w: 2}, z: 3}; return JSON.stringify([y, r, z]); })()`,
	`(() => { var {x: [{...r}]} = {x: [{p: 1}]}; return JSON.stringify(r); })()`,
	`(() => { let {a = 5, ...r} = {b: 1}, [{...s} = {q: 2}] = []; return JSON.stringify([a, r, s]); })()`,
	`(() => { const {a: {b: {...r}}} = {a: {b: {c: 1, d: 2}}}; return JSON.stringify(r); })()`,
	`(() => { const [x, ...[{...r}]] = [1, {t: 2}]; return JSON.stringify([x, r]); })()`,
	`(() => { let a, r; const v = {a: 1, b: 2}; const res = ({a, ...r} = v); return JSON.stringify([a, r, res === v]); })()`,
	`(() => { let r; const o = {}; const v = {x: {p: 1, q: 2}}; const res = ({x: {p: o.p, ...r}} = v); return JSON.stringify([r, o, res === v]); })()`,
	`(() => { let r; const res = [{...r}] = [{k: 1}]; return JSON.stringify([r, res]); })()`,
	`(() => { let r, s; ({m: {...r}, n: [{...s}]} = {m: {i: 1}, n: [{j: 2}]}); return JSON.stringify([r, s]); })()`,
	`(function f(a, {b, ...r}, c = r.d, ...rest) { return JSON.stringify([a, b, r, c, rest, f.length]); })(1, {b: 2, d: 4}, undefined, 5, 6)`,
	`(function f(a, {...r} = {dflt: 1}, c) { return JSON.stringify([a, r, c, f.length]); })(1, undefined, 3)`,
	`(function f(a, ...[{...r}]) { return JSON.stringify([a, r, f.length]); })(1, {z: 26})`,
	`(({...r}) => JSON.stringify(r))({m: 1})`,
	`(({...r} = {n: 2}) => JSON.stringify(r))()`,
	`(function ({...r}) { return typeof arguments[0] + JSON.stringify(r); })({args: 1})`,
	`(() => { const out = []; for (const {k, ...r} of [{k: 1, a: 2}, {k: 3, b: 4}]) out.push(k, r); return JSON.stringify(out); })()`,
	`(() => { for (var {...r} of [{z: 1}]); return JSON.stringify(r); })()`,
	`(() => { for (var {a: {...r}} of [{a: {z: 2}}]) {} return JSON.stringify(r); })()`,
	`(() => { let r; for ({...r} of [{y: 9}]); return JSON.stringify(r); })()`,
	`(() => { let r; for ({w: {...r}} of [{w: {y: 8}}]); return JSON.stringify(r); })()`,
	`(() => { const out = []; for (const {length, ...r} in {abc: 1}) out.push(length, r); return JSON.stringify(out); })()`,
	`(() => { const out = []; lbl: for (let {...r} of [{a: 1}, {a: 2}, {a: 3}]) { if (r.a === 2) continue lbl; out.push(r.a); } return out.join(); })()`,
	`(() => { try { throw {e: 1, f: 2}; } catch ({e, ...r}) { return JSON.stringify([e, r]); } })()`,
	`(() => { try { throw {e: {f: 2}}; } catch ({e: {...r}}) { let x = 1; return JSON.stringify([r, x]); } })()`,
	`(() => { const fs = []; for (const {...r} of [{a: 1}, {a: 2}]) fs.push(() => r.a); return fs.map(f => f()).join(); })()`,
	`(() => { const log = []; const v = {get a() { log.push('a'); return 1; }, get b() { log.push('b'); return 2; }}; const {a, ...r} = v; return log.join() + JSON.stringify(r); })()`,
	`(() => { const {...r} = "ab"; return JSON.stringify(r); })()`,
	`(() => { const {0: z, ...r} = new Uint8Array([5, 6, 7]); return JSON.stringify([z, r]); })()`,
	`(() => { const {...r} = new Proxy({p: 1}, {}); return JSON.stringify(r); })()`,
	`(() => { try { const {...r} = null; return "no"; } catch (e) { return e.name; } })()`,
	`(() => { try { const {a: {...r}} = {}; return "no"; } catch (e) { return e.name; } })()`,
	`(() => { function* g({...r}) { yield r.a; } return [...g({a: 7})].join(); })()`,
	`(() => { const o = { m({...r}) { return r; }, set s({...r}) { this.v = r; } }; o.s = {q: 1}; return JSON.stringify([o.m({p: 2}), o.v]); })()`,
	`(() => { class C { constructor({...r}) { this.r = r; } static f({...s}) { return s; } } return JSON.stringify([new C({c: 1}).r, C.f({d: 2})]); })()`,
	`(() => { class B { constructor(x) { this.x = x; } } class D extends B { constructor({...r}) { super(r); } } return JSON.stringify(new D({e: 3}).x); })()`,
	`(() => { function f() { var {a: {...r}} = {a: {x: 1}}; return r; } return JSON.stringify(f()); })()`,
	`(() => { let s = ''; for (let {a: {...r}} = {a: {x: 1}}, i = 0; i < 2; i++) s += JSON.stringify(r); return s; })()`,
	`(() => { let s = ''; for (var {a: {...r}} = {a: {x: 2}}, i = 0; i < 2; i++) s += JSON.stringify(r); return s; })()`,
	`(() => { const f = function ({...r}) { return this.t + JSON.stringify(r); }; return f.call({t: "this:"}, {u: 1}); })()`,
	`(() => { const sym = Symbol("s"); const {...r} = {[sym]: 1, a: 2}; return String(r[sym]) + r.a; })()`,
	`(() => { const {a, ...r} = Object.defineProperty({a: 1, b: 2}, "h", {value: 3, enumerable: false}); return JSON.stringify(r); })()`,
	`var {q: {...gr}} = {q: {w: 1}}; JSON.stringify(gr)`,
	`let {...lr} = {v: 1}; JSON.stringify(lr)`,
}

// TestRest_SameAsGoja runs restPrograms rewritten and as they are.
func TestRest_SameAsGoja(t *testing.T) {
	for _, prog := range restPrograms {
		i := guardedRuntime(t)
		i.builtins.bindOps()
		got, err := runRewritten(i, prog)
		plain := goja.New()
		want, werr := plain.RunString(prog)
		if werr != nil {
			t.Fatalf("%s\ngoja: %v", prog, werr)
		}
		if err != nil {
			t.Fatalf("%s\nrewritten: %v\ngoja:      %v", prog, err, want)
		}
		if got.String() != want.String() {
			t.Errorf("%s\nrewritten: %v\ngoja:      %v", prog, got, want)
		}
	}
}

// A nested destructuring assignment with a rest that holds a yield is
// refused when it runs, with a SyntaxError that says why.
func TestRest_NestedAssignmentWithYieldIsRefused(t *testing.T) {
	i := guardedRuntime(t)
	i.builtins.bindOps()
	v, err := runRewritten(i, `(() => { function* g() { let r; ({x: {...r} = yield 1} = {}); } const it = g(); try { it.next(); return "ran"; } catch (e) { return e.name + ": " + e.message; } })()`)
	if err != nil {
		t.Fatal(err)
	}
	if s := v.String(); !strings.HasPrefix(s, "SyntaxError: ") || !strings.Contains(s, "object rest") {
		t.Fatalf("got %q, want a SyntaxError about the object rest", s)
	}
}

// Code made at run time that goja's parser panics on is a SyntaxError of
// that code, caught by the script.
func TestRest_ParserPanicIsASyntaxError(t *testing.T) {
	i := guardedRuntime(t)
	i.builtins.bindOps()
	v, err := runRewritten(i, `(() => { try { (0, eval)("try {} catch ([...[") ; return "ran"; } catch (e) { return e.name; } })()`)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "SyntaxError" {
		t.Fatalf("got %v, want SyntaxError", v)
	}
}

// countRestChecks counts the %big(rest, …) calls in prg.
func countRestChecks(prg *ast.Program) int {
	n := 0
	seen := map[uintptr]bool{} // a var's binding is in its scope's list too
	stack := []reflect.Value{reflect.ValueOf(prg)}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if v.IsNil() {
				continue
			}
			if v.Kind() == reflect.Interface {
				stack = append(stack, v.Elem())
				continue
			}
			if seen[v.Pointer()] {
				continue
			}
			seen[v.Pointer()] = true
			if c, ok := v.Interface().(*ast.CallExpression); ok && len(c.ArgumentList) > 0 {
				if id, ok := c.Callee.(*ast.Identifier); ok && id.Name.String() == bigFnName {
					if l, ok := c.ArgumentList[0].(*ast.NumberLiteral); ok && l.Value == int64(bigRestCode) {
						n++
					}
				}
			}
			stack = append(stack, v.Elem())
		case reflect.Struct, reflect.Slice:
			stack = pushParts(stack, v, func(c reflect.Value) reflect.Value { return c })
		}
	}
	return n
}

// Each rest's value passes through the check once, whatever holds it.
func TestRest_OneCheckPerRest(t *testing.T) {
	for src, want := range map[string]int{
		"let {...r} = v":                         1,
		"const {x: {...r}, ...s} = v":            2,
		"for (let {...r} = v; ;) {}":             1,
		"for (const {a: {...r}} of v) {}":        1,
		"var {...r} = v":                         1,
		"function f({...r}, [{...s}]) {}":        2,
		"({...r} = v)":                           1,
		"({x: {...r}} = v)":                      1,
		"try {} catch ({...r}) {}":               1,
		"let a = () => { const {...r} = v; }":    1,
		"class C { static { let {...r} = v; } }": 1,
	} {
		prg, err := goja.Parse("rest.js", src)
		if err != nil {
			t.Fatal(err)
		}
		if !rewriteRests(prg) {
			t.Errorf("%s: not rewritten", src)
		}
		if got := countRestChecks(prg); got != want {
			t.Errorf("%s: %d checks, want %d", src, got, want)
		}
	}
}
