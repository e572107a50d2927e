package isolate

import (
	"reflect"
	"strconv"
	"sync"

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
	if o, ok := v.(*goja.Object); ok {
		v = toPrimitive(b.rt, o, "number")
	}
	b.checkBigIntString(v)
	return v
}

// bigPut is %big(put, T): T, or a converting proxy of T (above).
func (b *builtins) bigPut(t goja.Value) goja.Value {
	if !bigStore(t) {
		return t
	}
	if b.big.putTraps == nil {
		b.big.putTraps = b.putTraps()
	}
	return b.rt.ToValue(b.rt.NewProxy(t.(*goja.Object), b.big.putTraps))
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

// guardTarget wraps the object of e, if e is a member `T[k]` (not
// super[k]), in %big(put, T). A dotted member `T.name` is left alone: a
// name is never an integer index.
func guardTarget(e ast.Expression) {
	m, ok := e.(*ast.BracketExpression)
	if !ok {
		return
	}
	if _, super := m.Left.(*ast.SuperExpression); super {
		return
	}
	m.Left = callAt(bigPutCode, m.Left.Idx0(), m.Left)
}
