package isolate

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
)

// A string stored into a BigInt typed array (BigInt64Array,
// BigUint64Array) is parsed by goja with math/big, in time quadratic in
// its digits and in one piece: `a[0] = "9".repeat(1e6)` ran for about a
// second, and a longer string for minutes, with no look at the interrupt.
// goja's element store has no hook, so Cloister converts the value itself
// before goja sees it (bigElement: to a primitive, as ToBigInt does, then
// checked as BigInt() checks a string) on every path a script has to such
// an element:
//
//   - an assignment whose target is a member `T[k]` (any operator, and
//     the targets of destructuring and of for-in/for-of heads), in a
//     script compiled with the BigInt operator guards: T is rewritten to
//     %big(put, T), which yields T itself unless a store into T can reach
//     a BigInt typed array's element (T is one, or a proxy of one), and
//     then a proxy of T that converts the value of an integer-keyed store
//     and forwards everything else to T with T as the receiver. That
//     proxy is the target of the one assignment it was made for; no
//     script ever holds it. A BigInt typed array exists only in a script
//     compiled with those guards (its constructors throw elsewhere);
//   - the builtins that store values into one: the constructors,
//     %TypedArray%.from and .of, and the prototype's fill, set, map and
//     with (guardBigArrayMethods), Reflect.set, Reflect.defineProperty,
//     Object.defineProperty, Object.defineProperties and Object.assign
//     (guardBigStores), and the generic Array methods, whose receiver
//     goes behind the pinned proxy (dos.go), which converts too.

// bigPutCode is %big's code for an assignment target (see bigint.go).
const bigPutCode = bigTpl + 1

var (
	typedArrayImpl = sync.OnceValue(func() reflect.Type {
		v, err := goja.New().RunString("new Uint8Array(0)")
		if err != nil {
			panic(err)
		}
		return implOf(v.(*goja.Object))
	})
	int64SliceType  = reflect.TypeOf([]int64(nil))
	uint64SliceType = reflect.TypeOf([]uint64(nil))
)

// isBigTyped reports whether o is a BigInt typed array.
func isBigTyped(o *goja.Object) bool {
	if implOf(o) != typedArrayImpl() {
		return false
	}
	t := o.ExportType()
	return t == int64SliceType || t == uint64SliceType
}

// bigStore reports whether a value stored into v by [[Set]] or
// [[DefineOwnProperty]] can reach a BigInt typed array's element: v is
// one, or a proxy of one (a proxy without a trap forwards the store; one
// with a trap is treated the same). A chain of proxies deeper than
// maxNativeDepth counts as reaching one.
func bigStore(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	for k := 0; ok && o != nil; k++ {
		if k == maxNativeDepth {
			return true
		}
		if isBigTyped(o) {
			return true
		}
		if o.ExportType() != proxyType {
			return false
		}
		p, _ := o.Export().(goja.Proxy)
		o = p.Target()
	}
	return false
}

// bigElement is what a BigInt typed array's element store is handed for
// v: v converted to a primitive once (hint number, as ToBigInt converts
// it) and, if a string, checked as BigInt() checks one (bigint.go: too
// many digits is a RangeError, a parse the turn has no time left for
// ends it with cpu_limit).
func (b *builtins) bigElement(v goja.Value) goja.Value {
	v, ns := b.bigElementCost(v)
	b.needParse(ns)
	return v
}

// bigElementCost is bigElement without the time check: it returns the ns
// goja's parse of the result may take, for a caller that hands goja many
// values at once to check their sum.
func (b *builtins) bigElementCost(v goja.Value) (goja.Value, int64) {
	if o, ok := v.(*goja.Object); ok {
		v = toPrimitive(b.rt, o, "number")
	}
	return v, b.bigStringCost(v)
}

// bigPut is %big(put, T): T, or a converting proxy of T (above). The
// last proxy made is kept, weakly, for the next store into the same T (a
// loop over an array's elements): making one costs about a microsecond.
// Nothing else holds it, so a collection clears it.
func (b *builtins) bigPut(t goja.Value) goja.Value {
	if !bigStore(t) {
		return t
	}
	o := t.(*goja.Object)
	if p := b.big.putProxy.Value(); p != nil && b.big.putTarget.Value() == o {
		return p
	}
	if b.big.putTraps == nil {
		b.big.putTraps = b.putTraps()
	}
	p := b.rt.ToValue(b.rt.NewProxy(o, b.big.putTraps)).(*goja.Object)
	b.big.putProxy, b.big.putTarget = weak.Make(p), weak.Make(o)
	return p
}

// putTraps are the traps of bigPut's proxies: reads and writes go to the
// target with the target as the receiver (a setter sees T, never the
// proxy); an integer-keyed write converts its value first.
func (b *builtins) putTraps() *goja.ProxyTrapConfig {
	set := func(t *goja.Object, k string, v goja.Value) bool {
		if err := t.Set(k, v); err != nil {
			panic(err)
		}
		return true
	}
	return &goja.ProxyTrapConfig{
		Get:    func(t *goja.Object, k string, _ goja.Value) goja.Value { return orUndefined(t.Get(k)) },
		GetIdx: func(t *goja.Object, k int, _ goja.Value) goja.Value { return orUndefined(t.Get(strconv.Itoa(k))) },
		GetSym: func(t *goja.Object, s *goja.Symbol, _ goja.Value) goja.Value { return orUndefined(t.GetSymbol(s)) },
		Set:    func(t *goja.Object, k string, v, _ goja.Value) bool { return set(t, k, v) },
		SetIdx: func(t *goja.Object, k int, v, _ goja.Value) bool { return set(t, strconv.Itoa(k), b.bigElement(v)) },
		SetSym: func(t *goja.Object, s *goja.Symbol, v, _ goja.Value) bool {
			if err := t.SetSymbol(s, v); err != nil {
				panic(err)
			}
			return true
		},
	}
}

// ---- the rewrite ----

var (
	arrayPatType  = reflect.TypeOf((*ast.ArrayPattern)(nil))
	objectPatType = reflect.TypeOf((*ast.ObjectPattern)(nil))
	forIntoType   = reflect.TypeOf((*ast.ForIntoExpression)(nil))
)

// isTargetHolder reports whether t is a node type whose assignment
// targets rewriteTargets guards.
func isTargetHolder(t reflect.Type) bool {
	return t == assignType || t == arrayPatType || t == objectPatType || t == forIntoType
}

// rewriteTargets wraps the object of every member target n holds
// directly — an assignment's left side, a destructuring pattern's
// elements and rest, a for-in/for-of head — in %big(put, …). It runs
// before the assignment's own rewrite (rewriteAssign), which then works
// on the wrapped target.
func rewriteTargets(n ast.Node) {
	switch n := n.(type) {
	case *ast.AssignExpression:
		guardTarget(n.Left)
	case *ast.ArrayPattern:
		for _, e := range n.Elements {
			guardTarget(e)
		}
		guardTarget(n.Rest)
	case *ast.ObjectPattern:
		for _, p := range n.Properties {
			if p, ok := p.(*ast.PropertyKeyed); ok {
				guardTarget(p.Value)
			}
		}
		guardTarget(n.Rest)
	case *ast.ForIntoExpression:
		guardTarget(n.Expression)
	}
}

// guardTarget wraps the object of e, if e is a member `T[k]`, in
// %big(put, T); the key of `super[k]` in %big(superKey, this, k). A
// dotted member `T.name` is left alone: a name is never an integer index.
func guardTarget(e ast.Expression) {
	m, ok := e.(*ast.BracketExpression)
	if !ok {
		return
	}
	if _, super := m.Left.(*ast.SuperExpression); super {
		at := m.Member.Idx0()
		m.Member = callAt(bigSuperKeyCode, at, &ast.ThisExpression{Idx: at}, m.Member)
		return
	}
	m.Left = callAt(bigPutCode, m.Left.Idx0(), m.Left)
}

// bigSuperKeyCode is %big(superKey, this, k): the property key of k, for
// a store `super[k] = v`. Its receiver is this, which no expression of
// the store names, so %big(put) cannot stand in for it: when this is a
// BigInt typed array (or a proxy of one) and the key is an element's,
// the store is refused with a TypeError, since goja would parse a string
// value in one piece (300,000 digits took 0.7 s, a million some 8 s).
const bigSuperKeyCode = bigRestRefuseCode + 1

const superStoreRefusedMsg = "storing through super into an element of a BigInt typed array is not supported: store into this[k] instead"

// bigSuperKey is %big(superKey, this, k).
// A primitive key is handed back as it is: goja treats a number key and
// its string apart (`super[-0.5] = v` on a typed array).
func (b *builtins) bigSuperKey(this, k goja.Value) goja.Value {
	if _, ok := k.(*goja.Object); ok {
		k = toPropertyKey(b.rt, k)
	}
	if bigStore(this) && isIndexKey(toPropertyKey(b.rt, k)) {
		panic(b.rt.NewTypeError(superStoreRefusedMsg))
	}
	return k
}

// ---- the builtins that store ----

// isIndexKey reports whether k, a property key, is one goja stores as an
// element of a typed array: a canonical integer.
func isIndexKey(k goja.Value) bool {
	if _, sym := k.(*goja.Symbol); sym {
		return false
	}
	s := k.String()
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

// mayMakeBigArray reports whether c, the constructor a builtin builds its
// result with (`this` of from and of), can make a BigInt typed array: it
// is a BigInt typed array's constructor or a subclass of one, or, with
// custom (for %TypedArray%'s, whose result must be a typed array), any
// constructor but a numeric typed array's and its subclasses.
func (b *builtins) mayMakeBigArray(c goja.Value, custom bool) bool {
	if b.big.ctors == nil {
		b.big.ctors = map[*goja.Object]bool{b.origGlobal("Array"): false}
		for _, ta := range typedArrayCtors {
			b.big.ctors[b.origGlobal(ta.name)] = strings.HasPrefix(ta.name, "Big")
		}
	}
	o, ok := c.(*goja.Object)
	for k := 0; ok && o != nil && k < maxNativeDepth; k++ {
		if big, known := b.big.ctors[o]; known {
			return big
		}
		o = o.Prototype()
	}
	return ok && custom
}

// bigElements converts every value of vals for a BigInt typed array,
// with a CPU check every 1024, and ends the turn with cpu_limit when goja
// could not parse them all, one after the other in one piece, in the
// time left.
func (b *builtins) bigElements(vals []goja.Value) {
	var sum int64
	for k, v := range vals {
		if k%1024 == 0 {
			b.tick()
		}
		var ns int64
		vals[k], ns = b.bigElementCost(v)
		sum += ns
	}
	b.needParse(sum)
}

// bigMapper wraps the map function of from (or map) so that what it
// returns is converted for a BigInt typed array; a non-callable one is
// left for goja to refuse.
func (b *builtins) bigMapper(fn, this goja.Value) goja.Value {
	f, ok := goja.AssertFunction(fn)
	if !ok {
		return fn
	}
	return b.rt.ToValue(func(c goja.FunctionCall) goja.Value {
		return b.bigElement(call(f, this, c.Arguments...))
	})
}

// bigDescriptor is a copy of the property descriptor d, read once in the
// spec's order, with its value converted for a BigInt typed array; the ns
// goja's parse of that value may take is added to sum.
func (b *builtins) bigDescriptor(d goja.Value, sum *int64) goja.Value {
	o, ok := d.(*goja.Object)
	if !ok {
		return d // goja throws the TypeError
	}
	out := b.rt.NewObject()
	for _, f := range []string{"enumerable", "configurable", "value", "writable", "get", "set"} {
		if v := o.Get(f); v != nil {
			if f == "value" {
				var ns int64
				v, ns = b.bigElementCost(v)
				*sum += ns
			}
			_ = out.Set(f, v)
		}
	}
	return out
}

// needParse ends the turn with cpu_limit when parses of sum ns could not
// finish in the time left.
func (b *builtins) needParse(sum int64) {
	if sum > 0 {
		b.needCPU(sum, 1)
	}
}

// guardBigStores guards, in an isolate that can make BigInt typed arrays,
// Reflect.set, Reflect.defineProperty, Object.defineProperty,
// Object.defineProperties and Object.assign in place on the runtime's own
// Reflect and Object, before its script runs: a value they store into a
// BigInt typed array's element (directly, or through a proxy or as the
// receiver of Reflect.set) is converted first.
func (b *builtins) guardBigStores() {
	wrap := func(o *goja.Object, name string, g func(orig goja.Callable, c goja.FunctionCall) goja.Value) {
		ov, _ := o.Get(name).(*goja.Object)
		orig, ok := goja.AssertFunction(ov)
		if !ok {
			panic("isolate: " + name + " is not a function")
		}
		f := b.newMethod(name, ov, func(c goja.FunctionCall) goja.Value { return g(orig, c) })
		_ = o.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	arg := func(c goja.FunctionCall) []goja.Value {
		return append([]goja.Value(nil), c.Arguments...)
	}
	define := func(orig goja.Callable, c goja.FunctionCall) goja.Value {
		if len(c.Arguments) < 3 || !bigStore(c.Arguments[0]) {
			return call(orig, c.This, c.Arguments...)
		}
		args := arg(c)
		if args[1] = toPropertyKey(b.rt, args[1]); isIndexKey(args[1]) {
			var sum int64
			args[2] = b.bigDescriptor(args[2], &sum)
			b.needParse(sum)
		}
		return call(orig, c.This, args...)
	}
	refl, obj := b.origGlobal("Reflect"), b.origGlobal("Object")
	wrap(refl, "defineProperty", define)
	wrap(obj, "defineProperty", define)
	wrap(refl, "set", func(orig goja.Callable, c goja.FunctionCall) goja.Value {
		if len(c.Arguments) < 3 || !bigStore(c.Arguments[0]) && (len(c.Arguments) < 4 || !bigStore(c.Arguments[3])) {
			return call(orig, c.This, c.Arguments...)
		}
		args := arg(c)
		if args[1] = toPropertyKey(b.rt, args[1]); isIndexKey(args[1]) {
			args[2] = b.bigElement(args[2])
		}
		return call(orig, c.This, args...)
	})
	wrap(obj, "defineProperties", func(orig goja.Callable, c goja.FunctionCall) goja.Value {
		props, ok := c.Argument(1).(*goja.Object)
		if !ok || !bigStore(c.Argument(0)) {
			return call(orig, c.This, c.Arguments...)
		}
		copied := b.rt.NewObject()
		var sum int64
		for n, k := range props.Keys() {
			if n%1024 == 0 {
				b.tick()
			}
			d := props.Get(k)
			if isIndexKey(b.rt.ToValue(k)) {
				d = b.bigDescriptor(d, &sum)
			}
			_ = copied.Set(k, d)
		}
		b.needParse(sum)
		for _, s := range props.Symbols() {
			_ = copied.SetSymbol(s, props.GetSymbol(s))
		}
		return call(orig, c.This, c.Argument(0), copied)
	})
	wrap(obj, "assign", func(orig goja.Callable, c goja.FunctionCall) goja.Value {
		if len(c.Arguments) < 2 || !bigStore(c.Arguments[0]) {
			return call(orig, c.This, c.Arguments...)
		}
		args := arg(c)
		args[0] = b.bigPut(args[0]) // its Set traps convert
		call(orig, c.This, args...)
		return c.Arguments[0]
	})
}

// guardBigArrayMethod guards a %TypedArray%.prototype method that stores
// what it is given into its receiver: fill (value), with (value, after
// the index is converted), set (the values of an array-like source, read
// once), map (what the callback returns).
func guardBigArrayMethod(name string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			switch name {
			case "with":
				b.chargeTypedCopy(c.This, "with") // dos_fresh.go
			case "set":
				if v, ok := b.typedSet(orig, c); ok { // dos_typedloop.go
					return v
				}
				b.needTypedLoop(c.This) // dos_fresh.go
			}
			if name == "fill" {
				return b.typedFill(orig, c.This, c.Arguments, bigStore(c.This)) // dos_typedloop.go
			}
			if name == "map" && len(c.Arguments) > 0 && !bigStore(c.This) && !b.bigOff() {
				if _, _, typed := typedArray(c.This); typed {
					return call(orig, c.This, b.typedMapper(c.Arguments[0], c.Argument(1))) // dos_species.go
				}
			}
			if !bigStore(c.This) || len(c.Arguments) == 0 {
				return call(orig, c.This, c.Arguments...)
			}
			args := append([]goja.Value(nil), c.Arguments...)
			switch name {
			case "with":
				if len(args) > 1 {
					args[0] = b.rt.ToValue(toIntegerOrInfinity(args[0]))
					args[1] = b.bigElement(args[1])
				}
			case "map":
				args = []goja.Value{b.bigMapper(args[0], c.Argument(1))}
			case "set":
				src, ok := args[0].(*goja.Object)
				if _, typed := typedLength(src); !ok || typed {
					break
				}
				if len(args) > 1 {
					args[1] = b.rt.ToValue(toIntegerOrInfinity(args[1]))
				}
				l := lengthOf(src)
				b.reserveElems(l, bytesPerElement, "array-like")
				vals := make([]goja.Value, l)
				for k := range vals {
					if k%1024 == 0 {
						b.tick()
					}
					vals[k] = orUndefined(src.Get(strconv.Itoa(k)))
				}
				b.bigElements(vals)
				args[0] = b.newArray(vals)
			}
			return call(orig, c.This, args...)
		}
	}
}

var _ = func() int {
	for _, name := range []string{"fill", "with", "map", "set"} {
		templateGuards = append(templateGuards,
			templateGuard{object: "%TypedArray%.prototype", name: name, make: method(guardBigArrayMethod(name))})
	}
	return 0
}()

// guardArrayOf guards the `of` of ctor (Array or %TypedArray%) in place:
// called on a constructor that can make a BigInt typed array, its
// arguments are converted first.
func (b *builtins) guardArrayOf(ctor *goja.Object) {
	of, _ := ctor.Get("of").(*goja.Object)
	if of == nil {
		panic("isolate: of is missing")
	}
	patchCtor(of, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			custom := ctor != b.origGlobal("Array")
			if len(c.Arguments) > 0 && b.mayMakeBigArray(c.This, custom) {
				c.Arguments = append([]goja.Value(nil), c.Arguments...)
				b.bigElements(c.Arguments)
			} else if !custom && !b.bigOff() {
				// a `this` of the script's, which may return a BigInt
				// typed array (dos_species.go)
				w := &bigCtorWrap{}
				c.This = b.wrapCtor(c.This, w)
				return w.result(orig(c))
			}
			return orig(c)
		}
	}, nil)
}
