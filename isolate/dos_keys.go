package isolate

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
)

// Enumerating a typed array's own keys (or a string's) is one Go loop of
// goja's that makes a string (and, for most of these, more) per element,
// uncharged and with no look at the interrupt: `Object.keys(new
// Uint8Array(6e7))` ran past 25 s and 5.4 GB. Every path that enumerates one in a piece is checked
// before goja starts: the result is charged to the memory limit at what
// it costs per element, and refused up front when the turn has not the
// time left for it (needCPU). The paths are Object.keys,
// getOwnPropertyNames, values, entries, getOwnPropertyDescriptors and
// assign, Reflect.ownKeys, and object spread `{...a}`, which has no
// builtin to guard: the rewrite (bigint.go) turns each spread element of
// an object literal `...E` into `...%big(spread, E)`.
//
// A proxy counts as the typed array its chain of targets leads to, with
// or without traps: reading the handler's traps here would run a
// script's getters out of order. `for-in` is lazy and is not guarded.
// Object rest (`const {...r} = a`) is rewritten in dos_rest.go.

// bigSpreadCode is %big's code for an object literal's spread element.
const bigSpreadCode = bigPutCode + 1

// keysCost is what enumerating a typed array costs per element: CPU time
// on the loaded 2-core VM (the worst of several runs, GC included) and
// what the result holds (the strings, values and objects goja makes).
// Measured over 1e6 elements, goja alone: Object.keys 44-260 ns and 40
// bytes, values 370-590 ns and 34, entries 3.1-3.3 µs and 670,
// getOwnPropertyDescriptors 4.6-6.2 µs and 670, assign into or spread
// into a plain object 0.96-1.2 µs and 110, assign into a typed array
// 220-250 ns and nothing.
type keysCost struct {
	ns, bytes int64
}

var (
	keysListCost   = keysCost{ns: 400, bytes: 48}
	keysValuesCost = keysCost{ns: 800, bytes: 48}
	keysEntryCost  = keysCost{ns: 4500, bytes: 700}
	keysDescCost   = keysCost{ns: 8000, bytes: 700}
	keysCopyCost   = keysCost{ns: 1600, bytes: 144}
	keysIntoTyped  = keysCost{ns: 600}
)

// keyedTyped returns the element count of v, a typed array or a proxy
// whose chain of targets leads to one, and how many times a typed
// array's cost each element costs: a string, or a String object, is
// enumerated as its UTF-16 units at about twice to three times the cost
// (1e6 units: Object.keys 460-510 ns and 42 bytes, spread 2-3.5 µs and
// 130). A dense ordinary array of keysArrayMin elements or more counts
// too, at keysArrayFactor: its elements are charged as they are stored,
// but the keys, values or properties made from them were not (Object.keys
// of 3.5e6 elements, which fit in 64 MiB, made 140 MB). A chain deeper
// than maxNativeDepth counts as none (goja's own walk of it throws
// first).
func keyedTyped(v goja.Value) (int64, int64, bool) {
	if s, ok := v.(goja.String); ok {
		return int64(s.Length()), keysStringFactor, true
	}
	o, ok := v.(*goja.Object)
	for k := 0; ok && o != nil && k < maxNativeDepth; k++ {
		if n, typed := typedLength(o); typed {
			return n, 1, true
		}
		if implOf(o) == layout.arrayType {
			s, _ := selfOf(o)
			n := int64(len(*(*[]goja.Value)(unsafe.Add(s.UnsafePointer(), layout.arrayValues))))
			return n, keysArrayFactor, n >= keysArrayMin
		}
		if implOf(o) == stringObjectImpl() {
			// A String object's length is its own and cannot be changed.
			return o.Get("length").ToInteger(), keysStringFactor, true
		}
		if o.ExportType() != proxyType {
			return 0, 0, false
		}
		p, _ := o.Export().(goja.Proxy)
		o = p.Target()
	}
	return 0, 0, false
}

// stringObjectImpl is the type of goja's String objects.
var stringObjectImpl = sync.OnceValue(func() reflect.Type {
	v, err := goja.New().RunString("new String('')")
	if err != nil {
		panic(err)
	}
	return implOf(v.(*goja.Object))
})

// keysStringFactor is how many times a typed array's cost a string's
// unit costs to enumerate (above), and keysArrayFactor a dense ordinary
// array's element (1e6 elements, goja alone, beside a CI run: Object.keys
// 230-565 ns and 41 bytes, values 0.5-1.2 µs and 17, entries 1-9 µs and
// 665, spread 1.1-2.2 µs and 109, getOwnPropertyDescriptors 4.9-11.6 µs
// and 669; counted at twice a typed array's time, and apart from it: an
// ordinary array is no typed array as a target of Object.assign).
// Arrays shorter than keysArrayMin are not counted: their enumeration
// takes under a millisecond.
const (
	keysStringFactor = 3
	keysArrayFactor  = 2
	keysArrayMin     = 1024
)

// needKeys charges n elements of an enumeration at cost and ends the
// turn with cpu_limit when it could not finish in the time left at factor
// times cost.ns an element; a
// result over the memory limit is refused (a RangeError that, uncaught,
// ends the incarnation with memory_limit).
func (b *builtins) needKeys(n, factor int64, cost keysCost, what string) {
	if n == 0 {
		return
	}
	if cost.bytes > 0 {
		b.reserveElems(n, cost.bytes, what)
	}
	b.needCPU(n, factor*cost.ns*raceSlowdown)
}

// guardKeys guards an Object or Reflect function that enumerates its
// first argument's own keys in one piece.
func guardKeys(cost keysCost, what string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if n, factor, typed := keyedTyped(c.Argument(0)); typed {
				b.needKeys(n, factor, cost, what)
			}
			return call(orig, c.This, c.Arguments...)
		}
	}
}

// guardAssign guards Object.assign: every source that is a typed array
// or a string is copied into the target one key at a time, a property
// each unless the target is a typed array.
func guardAssign(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		var n, weighted int64 // elements, and in a typed array's elements' worth of time
		for _, src := range c.Arguments[min(1, len(c.Arguments)):] {
			if m, factor, typed := keyedTyped(src); typed {
				n, weighted = n+m, weighted+m*factor
			}
		}
		if n > 0 {
			cost := keysCopyCost
			if _, factor, typed := keyedTyped(c.Argument(0)); typed && factor == 1 {
				cost = keysIntoTyped
			}
			if cost.bytes > 0 {
				b.reserveElems(n, cost.bytes, "Object.assign")
			}
			b.needCPU(weighted, cost.ns*raceSlowdown)
		}
		return call(orig, c.This, c.Arguments...)
	}
}

// bigSpread is %big(spread, E): E itself, checked first if it is a typed
// array or a string (or a proxy of one) whose elements become the
// literal's properties.
func (b *builtins) bigSpread(v goja.Value) goja.Value {
	if n, factor, typed := keyedTyped(v); typed {
		b.needKeys(n, factor, keysCopyCost, "object spread")
	}
	return v
}

// guardReflectKeys guards Reflect.ownKeys in place on the runtime's own
// Reflect, when a script first reaches it (Reflect is an object goja
// builds once, not a template).
func guardReflectKeys(b *builtins, refl *goja.Object) {
	ov, _ := refl.Get("ownKeys").(*goja.Object)
	orig, ok := goja.AssertFunction(ov)
	if !ok {
		panic("isolate: Reflect.ownKeys is not a function")
	}
	f := b.newMethod("ownKeys", ov, guardKeys(keysListCost, "Reflect.ownKeys")(b, orig))
	_ = refl.DefineDataProperty("ownKeys", f, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
}

var objectLitType = reflect.TypeOf((*ast.ObjectLiteral)(nil))

// rewriteSpread wraps every spread element of the object literal o in
// %big(spread, …) and reports whether it wrapped any.
func rewriteSpread(o *ast.ObjectLiteral) bool {
	done := false
	for _, p := range o.Value {
		if s, ok := p.(*ast.SpreadElement); ok && s.Expression != nil {
			s.Expression = callAt(bigSpreadCode, s.Expression.Idx0(), s.Expression)
			done = true
		}
	}
	return done
}

var _ = func() int {
	for _, g := range []struct {
		name string
		cost keysCost
	}{
		{"keys", keysListCost}, {"getOwnPropertyNames", keysListCost}, {"values", keysValuesCost},
		{"entries", keysEntryCost}, {"getOwnPropertyDescriptors", keysDescCost},
	} {
		templateGuards = append(templateGuards,
			templateGuard{object: "Object", name: g.name, make: method(guardKeys(g.cost, "Object."+g.name))})
	}
	templateGuards = append(templateGuards,
		templateGuard{object: "Object", name: "assign", make: method(guardAssign)},
		templateGuard{object: "globalThis", name: "Reflect", ctor: guardReflectKeys})
	return 0
}()
