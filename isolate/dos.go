package isolate

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unsafe"
	_ "unsafe" // go:linkname

	"github.com/dop251/goja"
)

// maxNativeDepth bounds every recursion that goja runs in Go on a script's
// data: join and toString of nested arrays, JSON.parse and JSON.stringify.
// Each level takes a few KiB of Go stack; a Go stack overflow is fatal to
// the node, and a deep one is slow long before that.
const maxNativeDepth = 1000

// maxStringifyDepth bounds JSON.stringify's recursion, whose every level
// also calls the guard's replacer, which checks the CPU limit: a deep
// value is usually stopped by that first. The bound keeps goja's Go stack
// under about 128 MiB.
const maxStringifyDepth = 1 << 17

// maxRegExpBytes and maxRegExpNesting bound a regular expression source
// before goja's or regexp2's parser sees it: both recurse once per group.
const (
	maxRegExpBytes   = 64 << 10
	maxRegExpNesting = 200
)

// goja's constructors that no template reaches: an async function's and a
// generator's prototypes and a regular expression literal's lead to them.
// These are the only calls into goja's private functions; their signatures
// are checked by TestTemplate_LinkedFunctions.

//go:linkname gojaGetAsyncFunction github.com/dop251/goja.(*Runtime).getAsyncFunction
func gojaGetAsyncFunction(r *goja.Runtime) *goja.Object

//go:linkname gojaGetGeneratorFunction github.com/dop251/goja.(*Runtime).getGeneratorFunction
func gojaGetGeneratorFunction(r *goja.Runtime) *goja.Object

//go:linkname gojaGetRegExp github.com/dop251/goja.(*Runtime).getRegExp
func gojaGetRegExp(r *goja.Runtime) *goja.Object

//go:linkname gojaGetArrayToString github.com/dop251/goja.(*Runtime).getArrayToString
func gojaGetArrayToString(r *goja.Runtime) *goja.Object

//go:linkname gojaGetArrayIteratorPrototype github.com/dop251/goja.(*Runtime).getArrayIteratorPrototype
func gojaGetArrayIteratorPrototype(r *goja.Runtime) *goja.Object

//go:linkname gojaGetStringIteratorPrototype github.com/dop251/goja.(*Runtime).getStringIteratorPrototype
func gojaGetStringIteratorPrototype(r *goja.Runtime) *goja.Object

//go:linkname gojaGetMapIteratorPrototype github.com/dop251/goja.(*Runtime).getMapIteratorPrototype
func gojaGetMapIteratorPrototype(r *goja.Runtime) *goja.Object

//go:linkname gojaGetSetIteratorPrototype github.com/dop251/goja.(*Runtime).getSetIteratorPrototype
func gojaGetSetIteratorPrototype(r *goja.Runtime) *goja.Object

// guardIterator makes the next method of one of goja's native iterator
// prototypes check the CPU limit every 64 calls: spreading, Array.from,
// destructuring and the collection constructors call it in a Go loop of
// goja's own. Each is guarded when a script first reaches what makes such
// iterators (the template guards in template.go, and needs.go).
func (b *builtins) guardIterator(proto func(*goja.Runtime) *goja.Object) {
	next, _ := proto(b.rt).Get("next").(*goja.Object)
	if next == nil {
		panic("isolate: an iterator prototype has no next")
	}
	patchCtor(next, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			b.tickSmall()
			return orig(c)
		}
	}, nil)
}

// tick is called by every loop a guard runs, about every 1024 elements: it
// ends the turn with ErrCPULimit once the watchdog has found the time up,
// and reads the turn's CPU clock itself (about a microsecond, against the
// tens to hundreds a chunk of elements takes), so a loop stops close to
// the limit even when the watchdog's goroutine waits for a CPU.
func (b *builtins) tick() {
	b.lim.checkCPU()
	if b.overLimit() {
		panic(&limitAbort{ErrCPULimit})
	}
}

// overLimit reports whether the running turn has used its CPU limit, by
// the watchdog's account where the watchdog has read the turn's clock, and
// by wall time (which bounds CPU time) where it has not yet: on a saturated
// machine the watchdog's goroutine can wait for a CPU past the limit, and
// a guard's loop must not run on meanwhile.
func (b *builtins) overLimit() bool {
	i := b.i
	i.mu.Lock()
	armed, clocked, clock, start := i.armed, i.clocked, i.clock, i.turnStart
	limit, base, charged, bounded := i.cpuLimit, i.cpuBase, i.cpuCharged, i.cpuBounded
	i.mu.Unlock()
	if armed == 0 {
		return false // not in a turn
	}
	if clocked && base != 0 {
		if now, ok := clock.read(); ok {
			d := now - base
			if bounded {
				d = min(d, time.Since(start))
			}
			return charged+d >= limit
		}
	}
	return time.Since(start) >= limit
}

// tickSmall is tick for a loop whose steps are single small calls (a sort
// comparison, a replacer call, an iterator step): it reads the clock every
// 64 calls.
func (b *builtins) tickSmall() {
	b.lim.checkCPU()
	if b.smallTicks++; b.smallTicks%64 == 0 && b.overLimit() {
		panic(&limitAbort{ErrCPULimit})
	}
}

// needCPU ends the turn with ErrCPULimit when work of n units at
// nsPerUnit cannot finish within what the turn has left: goja runs it in
// Go without looking at the interrupt, so the turn would overrun its limit.
func (b *builtins) needCPU(n int64, nsPerUnit int64) {
	b.lim.checkCPU()
	if time.Duration(n)*time.Duration(nsPerUnit) > b.lim.remaining() {
		panic(&limitAbort{ErrCPULimit})
	}
}

// ---- arrays ----

// implOf is the type of o's goja implementation.
func implOf(o *goja.Object) reflect.Type {
	s, err := selfOf(o)
	if err != nil {
		return nil
	}
	return s.Type()
}

// plainArray reports whether o is an ordinary goja array (dense or
// sparse), whose length is an own data property that cannot lie.
func (b *builtins) plainArray(o *goja.Object) bool {
	t := implOf(o)
	return t != nil && (t == layout.arrayType || t == layout.sparseType)
}

// isArray is the spec's IsArray: an array, or a proxy of one.
func (b *builtins) isArray(o *goja.Object) bool {
	if b.plainArray(o) {
		return true
	}
	if o.ExportType() != proxyType {
		return false
	}
	if p, ok := o.Export().(goja.Proxy); ok {
		if t := p.Target(); t != nil {
			b.depth++
			defer func() { b.depth-- }()
			if b.depth > maxNativeDepth {
				panic(b.i.newError("RangeError", "Maximum call stack size exceeded"))
			}
			return b.isArray(t)
		}
	}
	return false
}

// copyArrayLike returns a plain array with o's elements (holes kept),
// reading o's length once.
func (b *builtins) copyArrayLike(o *goja.Object) *goja.Object {
	l := lengthOf(o)
	b.reserveElems(l, bytesPerElement, "array")
	cp := b.rt.NewArray()
	for k := int64(0); k < l; k++ {
		if k%1024 == 0 {
			b.tick()
		}
		key := strconv.FormatInt(k, 10)
		if v := o.Get(key); v != nil {
			_ = cp.Set(key, v)
		}
	}
	_ = cp.Set("length", l)
	return cp
}

// elements reads o's elements by index, fast for a dense goja array.
type elements struct {
	o    *goja.Object
	vals *[]goja.Value // the dense array's storage, or nil
}

func (b *builtins) elementsOf(o *goja.Object) elements {
	e := elements{o: o}
	if implOf(o) == layout.arrayType {
		s, _ := selfOf(o)
		e.vals = (*[]goja.Value)(unsafe.Add(s.UnsafePointer(), layout.arrayValues))
	}
	return e
}

// get is Get(o, k), or nil for a missing element. The storage is looked
// at afresh each time: a getter may have changed the array.
func (e elements) get(k int64) goja.Value {
	if e.vals != nil && k < int64(len(*e.vals)) {
		if v := (*e.vals)[k]; v != nil && reflect.TypeOf(v) != layout.vpType {
			return v
		}
	}
	return e.o.Get(strconv.FormatInt(k, 10))
}

// sameValueZero is the spec's SameValueZero.
func sameValueZero(x, y goja.Value) bool {
	if x.StrictEquals(y) {
		return true
	}
	return isNaN(x) && isNaN(y)
}

func isNaN(v goja.Value) bool {
	if f, ok := v.Export().(float64); ok {
		return math.IsNaN(f)
	}
	return false
}

// arraySearch is Array.prototype.includes, indexOf and lastIndexOf, as the
// spec has them, with a CPU check every 1024 elements: goja's own loops
// run to the end of whatever length the receiver claims.
func arraySearch(kind string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if isNullish(c.This) {
				panic(b.rt.NewTypeError("Array.prototype." + kind + " called on null or undefined"))
			}
			o := c.This.ToObject(b.rt)
			l := lengthOf(o)
			notFound := b.rt.ToValue(-1)
			if kind == "includes" {
				notFound = b.rt.ToValue(false)
			}
			if l == 0 {
				return notFound
			}
			target := c.Argument(0)
			e := b.elementsOf(o)
			if kind == "lastIndexOf" {
				n := float64(l - 1)
				if len(c.Arguments) > 1 {
					n = toIntegerOrInfinity(c.Arguments[1])
				}
				var k int64
				switch {
				case math.IsInf(n, -1):
					return notFound
				case n >= 0:
					k = int64(min(n, float64(l-1)))
				default:
					k = int64(float64(l) + n)
				}
				for steps := 0; k >= 0; k, steps = k-1, steps+1 {
					if steps%1024 == 0 {
						b.tick()
					}
					if v := e.get(k); v != nil && target.StrictEquals(v) {
						return b.rt.ToValue(k)
					}
				}
				return notFound
			}
			n := toIntegerOrInfinity(c.Argument(1))
			if math.IsInf(n, 1) {
				return notFound
			}
			var k int64
			switch {
			case math.IsInf(n, -1):
			case n >= 0:
				if n >= float64(l) {
					return notFound
				}
				k = int64(n)
			default:
				k = int64(max(float64(l)+n, 0))
			}
			for steps := 0; k < l; k, steps = k+1, steps+1 {
				if steps%1024 == 0 {
					b.tick()
				}
				v := e.get(k)
				if kind == "includes" {
					if v == nil {
						v = goja.Undefined()
					}
					if sameValueZero(target, v) {
						return b.rt.ToValue(true)
					}
				} else if v != nil && target.StrictEquals(v) {
					return b.rt.ToValue(k)
				}
			}
			return notFound
		}
	}
}

// toIntegerOrInfinity is the spec's ToIntegerOrInfinity.
func toIntegerOrInfinity(v goja.Value) float64 {
	f := v.ToFloat()
	if math.IsNaN(f) {
		return 0
	}
	return math.Trunc(f) + 0 // no -0
}

// guardJoin is Array.prototype.join as the spec has it, with a CPU check
// and a memory charge every 1024 elements and a bound on nesting (an
// element's toString may join an inner array). A cycle joins as the empty
// string, as in goja.
func guardJoin(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return joinOf(b, lengthOf)
}

// guardTypedJoin is %TypedArray%.prototype.join: the same, over the
// typed array's own length; any other receiver is goja's TypeError
// (`new Float64Array(6e6).join("")` ran 0.25-0.73 s in one piece).
func guardTypedJoin(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	join := joinOf(b, func(o *goja.Object) int64 { n, _ := typedLength(o); return n })
	return func(c goja.FunctionCall) goja.Value {
		if o, ok := c.This.(*goja.Object); ok {
			if _, typed := typedLength(o); typed {
				return join(c)
			}
		}
		return call(orig, c.This, c.Arguments...)
	}
}

// joinOf is join with the receiver's length read by length.
func joinOf(b *builtins, length func(*goja.Object) int64) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		if isNullish(c.This) {
			panic(b.rt.NewTypeError("Array.prototype.join called on null or undefined"))
		}
		o := c.This.ToObject(b.rt)
		for _, p := range b.joining {
			if p == o {
				return b.rt.ToValue("")
			}
		}
		if len(b.joining) >= maxNativeDepth {
			panic(b.i.newError("RangeError", fmt.Sprintf("Array.prototype.join: arrays nest deeper than %d levels", maxNativeDepth)))
		}
		b.joining = append(b.joining, o)
		defer func() { b.joining = b.joining[:len(b.joining)-1] }()
		l := length(o)
		var sep goja.String
		if a := c.Argument(0); goja.IsUndefined(a) {
			sep = b.toStr(b.rt.ToValue(","))
		} else {
			sep = b.toStr(a)
		}
		if l == 0 {
			return b.rt.ToValue("")
		}
		if l > 1 {
			if float64(l-1)*float64(sep.Length()) > float64(b.lim.limit) {
				b.lim.reserve(-1)
			}
			b.lim.reserve((l - 1) * int64(sep.Length()) * unitBytes(sep))
		}
		e := b.elementsOf(o)
		w := chargedBuilder{b: b}
		var built int64
		for k := int64(0); k < l; k++ {
			b.chargeStep(&w, k, &built)
			if k > 0 {
				w.writeCharged(sep)
			}
			if v := e.get(k); !isNullish(v) {
				w.write(b.toStr(v))
			}
		}
		return b.resultOf(&w)
	}
}

// guardArrayToString bounds Array.prototype.toString (shared with the
// typed arrays), which calls the receiver's join: a join that is itself
// toString would recurse in Go without end.
func (b *builtins) guardArrayToString(f *goja.Object) {
	patchCtor(f, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			b.depth++
			defer func() { b.depth-- }()
			if b.depth > maxNativeDepth {
				panic(b.i.newError("RangeError", fmt.Sprintf("Array.prototype.toString: nesting deeper than %d levels", maxNativeDepth)))
			}
			return orig(c)
		}
	}, nil)
}

// guardDepth bounds a builtin that may recurse through the script's data.
func guardDepth(name string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			b.depth++
			defer func() { b.depth-- }()
			if b.depth > maxNativeDepth {
				panic(b.i.newError("RangeError", fmt.Sprintf("%s: nesting deeper than %d levels", name, maxNativeDepth)))
			}
			return call(orig, c.This, c.Arguments...)
		}
	}
}

// guardFlat bounds flat and flatMap: a plain-array receiver's nesting is
// measured before goja recurses through it (a generic receiver is copied
// into a plain array first), and the result's size is charged.
func guardFlat(flatMap bool) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if isNullish(c.This) {
				return call(orig, c.This, c.Arguments...)
			}
			o := c.This.ToObject(b.rt)
			if !b.plainArray(o) {
				o = b.copyArrayLike(o)
			}
			args := append([]goja.Value(nil), c.Arguments...)
			depth := float64(1)
			if !flatMap && len(args) > 0 && !goja.IsUndefined(args[0]) {
				depth = toIntegerOrInfinity(args[0])
				args[0] = b.rt.ToValue(depth)
			}
			if flatMap {
				if len(args) == 0 {
					args = append(args, goja.Undefined())
				}
				if _, ok := goja.AssertFunction(args[0]); !ok {
					return call(orig, o, args...) // throws the TypeError
				}
			}
			n := b.flatSize(o, depth, 0)
			b.reserveElems(n, bytesPerElement, "flat result")
			// goja's own flat then runs as one Go loop over the n elements.
			b.needCPU(n, 20)
			return b.callSpecies(orig, o, args) // dos_species.go
		}
	}
}

// flatSize counts the elements flat(depth) would produce from the plain
// array o, checking the CPU limit and the nesting as it goes.
func (b *builtins) flatSize(o *goja.Object, depth float64, level int) int64 {
	if level > maxNativeDepth {
		panic(b.i.newError("RangeError", fmt.Sprintf("Array.prototype.flat: arrays nest deeper than %d levels", maxNativeDepth)))
	}
	l := lengthOf(o)
	e := b.elementsOf(o)
	var n int64
	for k := int64(0); k < l; k++ {
		if k%1024 == 0 {
			b.tick()
		}
		v := e.get(k)
		if v == nil {
			continue
		}
		if inner, ok := v.(*goja.Object); ok && depth >= 1 && b.isArray(inner) {
			if !b.plainArray(inner) {
				n += lengthOf(inner)
				continue
			}
			n += b.flatSize(inner, depth-1, level+1)
			continue
		}
		n++
	}
	return n
}

// guardArrayCtor guards Array.from, which goja runs as one Go loop over
// whatever length an array-like claims.
func (b *builtins) guardArrayCtor(arr *goja.Object) {
	from, _ := arr.Get("from").(*goja.Object)
	if from == nil {
		panic("isolate: Array.from is missing")
	}
	b.guardArrayOf(arr)
	patchCtor(from, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			switch src := c.Argument(0).(type) {
			case *goja.Object:
				if !b.plainArray(src) {
					arr := b.newArray(b.listFrom(src))
					c.Arguments = append([]goja.Value{arr}, c.Arguments[1:]...)
				}
			case goja.String:
				// One element per code point: a string and an interface each.
				b.reserveElems(int64(src.Length()), 48, "Array.from of a string")
				b.needCPU(int64(src.Length()), 50)
			}
			if !b.bigOff() {
				// a `this` that may make a BigInt typed array (dos_species.go)
				w := &bigCtorWrap{}
				c.This = b.wrapCtor(c.This, w)
				return w.result(orig(c))
			}
			return orig(c)
		}
	}, nil)
}

// ---- strings ----

// guardStringCost guards a String.prototype method whose Go loop is linear
// in the receiver and its string arguments: the receiver is coerced once,
// the work is bounded by the time the turn has left at nsPerUnit, and the
// result (up to outFactor times the input) is charged before it is built.
func guardStringCost(name string, nsPerUnit, outFactor int64) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			s := b.thisString(c, name)
			units := int64(s.Length())
			args := append([]goja.Value(nil), c.Arguments...)
			for k, a := range args {
				if as, ok := a.(goja.String); ok {
					units += int64(as.Length())
					args[k] = as
				}
			}
			if units > chunkUnits {
				b.needCPU(units, nsPerUnit)
				if outFactor > 0 {
					b.lim.reserve(int64(s.Length()) * unitBytes(s) * outFactor)
				}
			}
			return call(orig, s, args...)
		}
	}
}

// guardReplace bounds replace and replaceAll: the receiver and a string
// replacement are coerced once; a replacement that can expand every match
// is charged at its size per possible match before goja builds the result.
func guardReplace(name string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			s := b.thisString(c, name)
			args := append([]goja.Value(nil), c.Arguments...)
			for len(args) < 2 {
				args = append(args, goja.Undefined())
			}
			if po, ok := args[0].(*goja.Object); ok {
				if m := po.GetSymbol(goja.SymReplace); m != nil && !isNullish(m) {
					// A regular expression: goja's matcher loop, bounded
					// by the input's length.
					b.needCPU(int64(s.Length()), 20)
					return call(orig, s, args...)
				}
			}
			pat := b.toStr(args[0])
			args[0] = pat
			n := int64(s.Length())
			matches := n + 1
			if pat.Length() > 0 {
				matches = n/int64(pat.Length()) + 1
			}
			if _, fn := goja.AssertFunction(args[1]); !fn {
				rep := b.toStr(args[1])
				args[1] = rep
				if name == "replaceAll" {
					grow := float64(matches) * float64(rep.Length())
					if grow+float64(n) > float64(b.lim.limit) {
						// Bounded by the actual matches: counted first.
						grow = float64(countMatches(s.String(), pat.String(), b)) * float64(rep.Length())
					}
					if grow+float64(n) > float64(b.lim.limit) {
						b.lim.reserve(-1)
					}
					b.lim.reserve(int64(grow)*2 + n*unitBytes(s))
				}
			}
			if n > chunkUnits {
				b.needCPU(n, 20)
			}
			return call(orig, s, args...)
		}
	}
}

// countMatches counts the non-overlapping occurrences of pat in s, with
// CPU checks.
func countMatches(s, pat string, b *builtins) int64 {
	if pat == "" {
		return int64(len(s)) + 1
	}
	var n int64
	for k := 0; k+len(pat) <= len(s); {
		if n%4096 == 0 {
			b.tick()
		}
		j := indexFrom(s, pat, k)
		if j < 0 {
			break
		}
		n++
		k = j + len(pat)
	}
	return n
}

func indexFrom(s, pat string, k int) int {
	for j := k; j+len(pat) <= len(s); j++ {
		if s[j:j+len(pat)] == pat {
			return j
		}
	}
	return -1
}

// ---- code generation ----

// guardFunctionCtor makes Function, AsyncFunction or GeneratorFunction
// coerce every argument to a string once and check the source those
// strings make before goja parses exactly them.
func (b *builtins) guardFunctionCtor(f *goja.Object, prefix string) {
	check := func(args []goja.Value) []goja.Value {
		b.ensureCodegen()
		out := make([]goja.Value, len(args))
		n := 0
		for k, a := range args {
			s := b.toStr(a)
			out[k] = s
			str := s.String()
			n += len(str)
			if err := checkSource(str, maxEvalBytes-n+len(str)); err != nil {
				panic(b.i.newError("SyntaxError", "Function: "+err.Error()))
			}
		}
		return out
	}
	patchCtor(f, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			c.Arguments = check(c.Arguments)
			if fn := b.functionGenerated(prefix, c.Arguments, nil); fn != nil {
				return fn
			}
			return orig(c)
		}
	}, func(orig func([]goja.Value, *goja.Object) *goja.Object) func([]goja.Value, *goja.Object) *goja.Object {
		return func(args []goja.Value, nt *goja.Object) *goja.Object {
			args = check(args)
			if fn := b.functionGenerated(prefix, args, nt); fn != nil {
				return fn
			}
			return orig(args, nt)
		}
	})
}

// guardEval checks the source eval compiles. Only a primitive string is
// compiled; anything else is returned as it is. Direct eval becomes
// indirect: it sees only globals, not the caller's local variables.
func guardEval(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		if len(c.Arguments) == 0 {
			return goja.Undefined()
		}
		s, ok := c.Arguments[0].(goja.String)
		if !ok {
			return c.Arguments[0]
		}
		if err := checkSource(s.String(), maxEvalBytes); err != nil {
			panic(b.i.newError("SyntaxError", "eval: "+err.Error()))
		}
		b.ensureCodegen()
		if v, ok := b.evalGenerated(s.String()); ok {
			return v
		}
		return call(orig, goja.Undefined(), s)
	}
}

// ---- shape checks ----

// checkJSONDepth refuses JSON text that nests deeper than maxNativeDepth:
// goja's parser recurses once per level.
func checkJSONDepth(s string) error {
	depth := 0
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '"':
			for k++; k < len(s) && s[k] != '"'; k++ {
				if s[k] == '\\' {
					k++
				}
			}
		case '[', '{':
			if depth++; depth > maxNativeDepth {
				return fmt.Errorf("text nests deeper than %d levels", maxNativeDepth)
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// checkRegExp throws a SyntaxError in the script unless the regular
// expression source src is within the size and nesting bounds.
func (b *builtins) checkRegExp(src string) {
	if err := regExpShape(src); err != nil {
		panic(b.i.newError("SyntaxError", "Invalid regular expression: "+err.Error()))
	}
}

// regExpShape checks a regular expression source: its size, and the
// nesting of its groups (character classes and escapes are skipped).
func regExpShape(src string) error {
	if len(src) > maxRegExpBytes {
		return fmt.Errorf("source is %d bytes, over the limit of %d", len(src), maxRegExpBytes)
	}
	depth, groups := 0, 0
	for k := 0; k < len(src); k++ {
		switch src[k] {
		case '\\':
			k++
		case '[':
			for k++; k < len(src) && src[k] != ']'; k++ {
				if src[k] == '\\' {
					k++
				}
			}
		case '(':
			groups++
			if depth++; depth > maxRegExpNesting {
				return fmt.Errorf("groups nest deeper than %d levels", maxRegExpNesting)
			}
		case ')':
			if depth > 0 {
				depth--
			}
		}
	}
	if groups > maxRegExpGroups {
		return fmt.Errorf("%d groups, over the limit of %d", groups, maxRegExpGroups)
	}
	return nil
}

// maxRegExpGroups bounds the groups of one regular expression: compiling
// each costs regexp2 a few hundred bytes and microseconds.
const maxRegExpGroups = 4096

// ---- the other array methods ----

// guardArrayLoop guards an Array.prototype method that goja runs as one
// Go loop over the receiver's length: every, some, forEach, map, filter,
// reduce, find and the rest. An ordinary array's length cannot lie, and
// the loop is bounded up front by the time the turn has left (dense
// arrays are also bounded by memory). Any other receiver is handed to goja
// behind a proxy that answers the length read here, once, and checks the
// CPU limit on every element goja touches. The proxy stands in for the
// receiver: a callback's third argument is the proxy, and a method that
// returns its receiver returns the receiver itself.
//
// A method that makes its result with the receiver's species (species:
// map, filter, slice, splice) goes through callSpecies and speciesOf
// (dos_species.go) where the species could make a BigInt typed array.
func guardArrayLoop(species bool) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if isNullish(c.This) {
				return call(orig, c.This, c.Arguments...)
			}
			o := c.This.ToObject(b.rt)
			if t := implOf(o); t == layout.arrayType || t == layout.sparseType {
				ns := int64(5)
				if t == layout.sparseType {
					ns = 20
				}
				b.needCPU(lengthOf(o), ns)
				if species {
					return b.callSpecies(orig, o, c.Arguments)
				}
				return call(orig, o, c.Arguments...)
			}
			return b.callPinned(orig, o, c.Arguments, species) // dos_species.go
		}
	}
}

// pinnedIn is `k in o`, for the pinned proxy's has trap.
var pinnedIn = goja.MustCompile("in", `(function (o, k) { return k in o; })`, true)

// pinned returns a proxy of o whose length is o's, read once now, and
// whose every element access checks the CPU limit. With w, its
// constructor reads through speciesOf (dos_species.go).
func (b *builtins) pinned(o *goja.Object, w *bigCtorWrap) *goja.Object {
	l := b.rt.ToValue(lengthOf(o))
	if b.in == nil {
		v, err := b.rt.RunProgram(pinnedIn)
		if err != nil {
			panic(err)
		}
		b.in, _ = goja.AssertFunction(v)
	}
	has := func(t *goja.Object, k goja.Value) bool {
		b.tickSmall()
		return call(b.in, goja.Undefined(), t, k).ToBoolean()
	}
	get := func(t *goja.Object, k string) goja.Value {
		if k == "length" {
			return l
		}
		if k == "constructor" && w != nil {
			return b.speciesOf(orUndefined(t.Get(k)), w)
		}
		b.tickSmall()
		return t.Get(k) // nil for a missing element: goja's loops skip those
	}
	set := func(t *goja.Object, k string, v goja.Value) bool {
		b.tickSmall()
		return t.Set(k, v) == nil
	}
	del := func(t *goja.Object, k string) bool {
		b.tickSmall()
		return t.Delete(k) == nil
	}
	idx := func(k int) string { return strconv.Itoa(k) }
	elem := func(v goja.Value) goja.Value { return v }
	if bigStore(o) {
		elem = b.bigElement // a string goja would parse as a BigInt (dos_bigarray.go)
	}
	p := b.rt.NewProxy(o, &goja.ProxyTrapConfig{
		Has:               func(t *goja.Object, k string) bool { return has(t, b.rt.ToValue(k)) },
		HasIdx:            func(t *goja.Object, k int) bool { return has(t, b.rt.ToValue(idx(k))) },
		Get:               func(t *goja.Object, k string, _ goja.Value) goja.Value { return get(t, k) },
		GetIdx:            func(t *goja.Object, k int, _ goja.Value) goja.Value { return get(t, idx(k)) },
		Set:               func(t *goja.Object, k string, v, _ goja.Value) bool { return set(t, k, v) },
		SetIdx:            func(t *goja.Object, k int, v, _ goja.Value) bool { return set(t, idx(k), elem(v)) },
		DeleteProperty:    func(t *goja.Object, k string) bool { return del(t, k) },
		DeletePropertyIdx: func(t *goja.Object, k int) bool { return del(t, idx(k)) },
	})
	return b.rt.ToValue(p).(*goja.Object)
}
