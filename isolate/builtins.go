package isolate

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"
)

// goja checks an interrupt only between JS instructions, so one call of a
// builtin implemented in Go runs to completion however long it takes and
// however much it allocates. Cloister puts a guard in front of every
// builtin that can build large values or run long loops (see template.go
// for how the guards are installed, once per process):
//
//   - arguments are coerced once, by the guard, and goja is given the
//     primitive results, so a valueOf or a length getter cannot show the
//     guard one value and goja another;
//   - before building a value, the guard charges its size to the memory
//     limit (limiter.reserve), which ends the turn with ErrMemoryLimit
//     instead of letting the allocation happen; one allocation larger than
//     the whole limit is refused outright (reserveElems);
//   - long loops are cut into chunks with a CPU check (tick, in dos.go)
//     between them, or run by Cloister's own implementation of the builtin
//     (dos.go), which checks the CPU limit as it goes, or refused up front
//     when their size cannot be worked through in the time the turn has
//     left (needCPU); sorts and JSON.stringify get a Go comparator or
//     replacer that checks it on every call;
//   - everything that recurses in Go on the script's data (join and
//     toString of nested arrays, JSON) is bounded by maxNativeDepth.
const chunkUnits = 64 << 10

// Array chunks are smaller: goja fills a fresh (sparse) array at about
// 1 µs per element, so a chunk stays well under a millisecond.
const fillChunk = 512

// Regular expressions with lookaround or backreferences run on regexp2,
// which backtracks. Every such match is bounded by regexpTimeout (regexp2
// v1 reads DefaultMatchTimeout when a pattern is compiled); goja reports
// a match that timed out as no match.
const regexpTimeout = 10 * time.Millisecond

func init() {
	// regexp2 reads these when a pattern is compiled and from its clock
	// goroutine; they are set before any isolate exists.
	regexp2.DefaultMatchTimeout = regexpTimeout
	regexp2.SetTimeoutCheckPeriod(time.Millisecond)
}

// bytesPerElement is the Go memory one JS array element takes (an interface).
const bytesPerElement = 16

// builtins is an isolate's state for its guards: made with the isolate,
// a few words; the guards themselves are made when the script first
// reaches each builtin.
type builtins struct {
	i             *Isolate
	rt            *goja.Runtime
	lim           *limiter
	patched       uint32 // constructors guarded in place, one bit per ctorKind
	depth         int    // nesting of guarded calls that recurse (join, toString)
	joining       []*goja.Object
	repeat        goja.Callable // goja's String.prototype.repeat, once needed
	smallTicks    uint32        // calls of tickSmall
	in            goja.Callable // `k in o`, for pinned proxies, once needed
	refused       *goja.Object  // the last refused allocation's error, to classify it uncaught
	big           bigState      // the BigInt operators' slots (bigint.go)
	stringGuarded bool          // String and String.raw are guarded (bigint_text.go)
}

// installBuiltins binds the isolate to the process-wide guards.
func (i *Isolate) installBuiltins() error {
	if templateErr != nil {
		return templateErr
	}
	b := &builtins{i: i, rt: i.rt, lim: i.lim}
	i.builtins = b
	i.lazy = &lazyGlobals{b: b}
	register(i.rt, b)
	return nil
}

// ensureNeeds guards, before a program runs, the constructors it can reach
// without any template (see needs.go).
func (b *builtins) ensureNeeds(n needs) {
	if n&needRegExp != 0 {
		b.ensure(ctorRegExp)
	}
	if n&needAsync != 0 {
		b.ensure(ctorAsyncFunction)
	}
	if n&needGenerator != 0 {
		b.ensure(ctorGeneratorFunction)
	}
	if n&needArguments != 0 {
		b.ensure(ctorIterArray)
	}
	if n&needBigInt != 0 {
		// Bound globally too, as before, outside the turn's CPU limit:
		// code made at run time in such an isolate needs it.
		b.enableBigInt()
	}
	if n&needGlobalOps != 0 {
		b.bindOps()
	}
}

// ensureCodegen guards everything code compiled at run time could reach
// (eval, the Function constructors): its source was never scanned.
func (b *builtins) ensureCodegen() { b.ensureNeeds(needAll) }

// call runs a captured builtin and rethrows its exception in the caller.
func call(f goja.Callable, this goja.Value, args ...goja.Value) goja.Value {
	v, err := f(this, args...)
	if err != nil {
		panic(err)
	}
	return v
}

func isNullish(v goja.Value) bool { return v == nil || goja.IsUndefined(v) || goja.IsNull(v) }

// unitBytes is the bytes per UTF-16 unit of s as goja stores it.
func unitBytes(s goja.String) int64 {
	if reflect.TypeOf(s).Kind() == reflect.String {
		return 1
	}
	return 2
}

// toStr converts v to a JS string as the spec's ToString does: a Symbol
// throws a TypeError.
func (b *builtins) toStr(v goja.Value) goja.String {
	if s, ok := v.(goja.String); ok {
		return s
	}
	p := v.ToString() // a primitive: objects are converted, others are themselves
	if s, ok := p.(goja.String); ok {
		return s
	}
	if _, ok := p.(*goja.Symbol); ok {
		panic(b.rt.NewTypeError("Cannot convert a Symbol value to a string"))
	}
	s, _ := b.rt.ToValue(p.String()).(goja.String) // numbers, booleans, null, undefined, BigInts
	return s
}

// thisString is the spec's RequireObjectCoercible then ToString of a
// String.prototype method's receiver.
func (b *builtins) thisString(c goja.FunctionCall, name string) goja.String {
	if isNullish(c.This) {
		panic(b.rt.NewTypeError("String.prototype." + name + " called on null or undefined"))
	}
	return b.toStr(c.This)
}

// method returns the guard maker for a method whose guard needs orig as a Callable.
func method(mk func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value) func(*builtins, *goja.Object) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, o *goja.Object) func(goja.FunctionCall) goja.Value {
		f, ok := goja.AssertFunction(o)
		if !ok {
			panic("isolate: a guarded builtin is not a function")
		}
		return mk(b, f)
	}
}

// ---- strings ----

func guardRepeat(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		s := b.thisString(c, "repeat")
		n := c.Argument(0).ToFloat()
		if math.IsNaN(n) || n < 1 || math.IsInf(n, 1) || s.Length() == 0 {
			return call(orig, s, b.rt.ToValue(n))
		}
		n = math.Trunc(n)
		total := float64(s.Length()) * n
		if total > float64(b.lim.limit) {
			b.lim.reserve(-1)
		}
		b.lim.reserve(int64(total) * unitBytes(s))
		return b.repeatChunked(orig, s, int64(n))
	}
}

func guardPad(start bool) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			s := b.thisString(c, "pad")
			n := c.Argument(0).ToFloat()
			if math.IsNaN(n) || n <= float64(s.Length()) {
				return s
			}
			var fill goja.String
			if f := c.Argument(1); goja.IsUndefined(f) {
				fill = b.toStr(b.rt.ToValue(" "))
			} else {
				fill = b.toStr(f)
			}
			if fill.Length() == 0 {
				return s
			}
			if n > float64(b.lim.limit) {
				b.lim.reserve(-1)
			}
			total := int64(n)
			bytes := total * max(unitBytes(s), unitBytes(fill))
			b.lim.reserve(bytes)
			b.needFresh(bytes)
			need := total - int64(s.Length())
			var sb goja.StringBuilder
			if unitBytes(s) == 2 || unitBytes(fill) == 2 {
				sb.LikelyUnicode(int(total))
			} else {
				sb.Grow(int(total))
			}
			if !start {
				b.copyChunked(&sb, s)
			}
			if full := need / int64(fill.Length()); full > 0 {
				b.copyChunked(&sb, b.repeatChunked(b.stringRepeat(), fill, full))
			}
			if part := int(need % int64(fill.Length())); part > 0 {
				sb.WriteString(fill.Substring(0, part))
			}
			if start {
				b.copyChunked(&sb, s)
			}
			return sb.String()
		}
	}
}

// stringRepeat is goja's own String.prototype.repeat of this runtime.
func (b *builtins) stringRepeat() goja.Callable {
	if b.repeat == nil {
		b.repeat = b.original("String.prototype", "repeat")
	}
	return b.repeat
}

func guardStringConcat(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		s := b.thisString(c, "concat")
		args := make([]goja.Value, len(c.Arguments))
		parts := []goja.String{s}
		units := int64(s.Length())
		total := units * unitBytes(s)
		for k, a := range c.Arguments {
			as := b.toStr(a)
			args[k] = as
			parts = append(parts, as)
			units += int64(as.Length())
			total += int64(as.Length()) * unitBytes(as)
		}
		if units >= concatCheckUnits {
			return b.join(parts) // charged, and copied in pieces
		}
		b.lim.reserve(total)
		return call(orig, s, args...)
	}
}

// repeatChunked returns s repeated n times, built in pieces of about
// chunkUnits with a CPU check between them, its buffer checked first
// (needFresh). The size is already charged.
func (b *builtins) repeatChunked(repeat goja.Callable, s goja.String, n int64) goja.String {
	if n == 1 {
		return s // goja's repeat(1) copies it, in one go
	}
	per := max(int64(chunkUnits/s.Length()), 1)
	if n <= per {
		return b.toStr(call(repeat, s, b.rt.ToValue(n)))
	}
	piece := s // a long s is its own piece: goja's repeat(1) copies it in one go
	if per > 1 {
		piece = b.toStr(call(repeat, s, b.rt.ToValue(per)))
	}
	b.needFresh(n * int64(s.Length()) * unitBytes(s))
	var sb goja.StringBuilder
	if unitBytes(s) == 2 {
		sb.LikelyUnicode(int(n) * s.Length())
	} else {
		sb.Grow(int(n) * s.Length())
	}
	for ; n >= per; n -= per {
		b.tick()
		b.copyChunked(&sb, piece)
	}
	if n > 0 {
		sb.WriteString(b.toStr(call(repeat, s, b.rt.ToValue(n))))
	}
	return sb.String()
}

// ---- arrays ----

// lengthOf is ToLength(Get(o, "length")): it may run a getter, so a guard
// calls it once and hands goja only what it computed from the result.
func lengthOf(o *goja.Object) int64 {
	v := o.Get("length")
	if v == nil {
		return 0
	}
	f := v.ToFloat()
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	return int64(min(f, 1<<53-1))
}

// relIndex is the spec's relative index of v into a length l.
func relIndex(v goja.Value, l, def int64) int64 {
	if isNullish(v) || goja.IsUndefined(v) {
		return def
	}
	f := v.ToFloat()
	if math.IsNaN(f) {
		return 0
	}
	f = math.Trunc(f)
	if f < 0 {
		return int64(max(float64(l)+f, 0))
	}
	return int64(min(f, float64(l)))
}

func guardFill(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		o, ok := c.This.(*goja.Object)
		if !ok {
			return call(orig, c.This, c.Arguments...)
		}
		// goja reads the length again, but every index it writes is
		// between from and to, computed here from the first reading.
		l := lengthOf(o)
		from := relIndex(c.Argument(1), l, 0)
		to := relIndex(c.Argument(2), l, l)
		value := c.Argument(0)
		if bigStore(o) {
			value = b.bigElement(value) // converted once (dos_bigarray.go)
		}
		lim := b.lim
		if to-from <= fillChunk {
			lim.reserve(max(to-from, 0) * bytesPerElement)
			return call(orig, o, value, b.rt.ToValue(from), b.rt.ToValue(to))
		}
		if to-from > lim.limit/bytesPerElement {
			lim.reserve(-1)
		}
		for k := from; k < to; k += fillChunk {
			b.tick()
			end := min(k+fillChunk, to)
			lim.reserve((end - k) * bytesPerElement)
			call(orig, o, value, b.rt.ToValue(k), b.rt.ToValue(end))
		}
		return o
	}
}

func guardArrayConcat(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		if isNullish(c.This) {
			return call(orig, c.This, c.Arguments...)
		}
		this := c.This.ToObject(b.rt)
		// A spreadable object that is not a plain array is copied into one
		// first, reading its length once: goja would read it again.
		this = b.spreadable(this)
		args := make([]goja.Value, len(c.Arguments))
		n := lengthOf(this)
		for k, a := range c.Arguments {
			args[k] = a
			if o, ok := a.(*goja.Object); ok {
				o = b.spreadable(o)
				args[k] = o
				if b.isSpreadable(o) {
					n += lengthOf(o)
					continue
				}
			}
			n++
		}
		if n > b.lim.limit/bytesPerElement {
			b.lim.reserve(-1)
		}
		b.lim.reserve(n * bytesPerElement)
		b.needCPU(n, 10) // goja copies the n elements in one Go loop
		if b.plainArray(this) {
			return b.callSpecies(orig, this, args) // dos_species.go
		}
		return call(orig, this, args...)
	}
}

// isSpreadable is the spec's IsConcatSpreadable.
func (b *builtins) isSpreadable(o *goja.Object) bool {
	if v := o.GetSymbol(goja.SymIsConcatSpreadable); v != nil && !goja.IsUndefined(v) {
		return v.ToBoolean()
	}
	return b.isArray(o)
}

// spreadable returns o, or a plain array copy of it if o is spreadable
// but not a plain array.
func (b *builtins) spreadable(o *goja.Object) *goja.Object {
	if b.plainArray(o) || !b.isSpreadable(o) {
		return o
	}
	l := lengthOf(o)
	if l > b.lim.limit/bytesPerElement {
		b.lim.reserve(-1)
	}
	b.lim.reserve(l * bytesPerElement)
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
	if v := o.GetSymbol(goja.SymIsConcatSpreadable); v != nil && !goja.IsUndefined(v) {
		_ = cp.SetSymbol(goja.SymIsConcatSpreadable, v)
	}
	return cp
}

// guardSort makes a sort (or toSorted) that passes a Go comparator to the
// original: the default order for typed (numeric) or plain (string)
// arrays, or the script's comparator called through. Either checks the
// CPU limit on every comparison.
func guardSort(typed, copying bool) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		lim := b.lim
		var cmp goja.Value
		if typed {
			cmp = b.i.fn("compare", func(c goja.FunctionCall) goja.Value {
				b.tickSmall()
				return b.rt.ToValue(compareNumbers(c.Argument(0).ToFloat(), c.Argument(1).ToFloat()))
			})
		} else {
			cmp = b.i.fn("compare", func(c goja.FunctionCall) goja.Value {
				b.tickSmall()
				return b.rt.ToValue(b.toStr(c.Argument(0)).CompareTo(b.toStr(c.Argument(1))))
			})
		}
		return func(c goja.FunctionCall) goja.Value {
			o, ok := c.This.(*goja.Object)
			if !ok {
				return call(orig, c.This, c.Arguments...)
			}
			var back *goja.Object // a generic receiver sorted in place
			if !typed && !b.plainArray(o) {
				// goja collects a generic object's elements in a loop
				// of its own that reads the length again: it sorts a
				// plain array copy, which sort writes back.
				if !copying {
					back = o
				}
				o = b.copyArrayLike(o)
			}
			if back != nil {
				defer b.writeBack(back, o)
			}
			if copying {
				n := lengthOf(o)
				if n > lim.limit/bytesPerElement {
					lim.reserve(-1)
				}
				lim.reserve(n * bytesPerElement)
			}
			result := func(v goja.Value) goja.Value {
				if back != nil {
					return back
				}
				return v
			}
			if lengthOf(o) <= 1024 {
				return result(call(orig, o, c.Arguments...))
			}
			a := c.Argument(0)
			if goja.IsUndefined(a) {
				return result(call(orig, o, cmp))
			}
			user, ok := goja.AssertFunction(a)
			if !ok {
				return call(orig, o, a) // throws the TypeError
			}
			return result(call(orig, o, b.i.fn("compare", func(c goja.FunctionCall) goja.Value {
				b.tickSmall()
				return call(user, goja.Undefined(), c.Argument(0), c.Argument(1))
			})))
		}
	}
}

// writeBack copies the sorted plain array cp into the generic receiver o,
// as sort does: element by element, deleting where cp has a hole.
func (b *builtins) writeBack(o, cp *goja.Object) {
	if r := recover(); r != nil {
		panic(r)
	}
	l := lengthOf(cp)
	for k := int64(0); k < l; k++ {
		if k%1024 == 0 {
			b.tick()
		}
		key := strconv.FormatInt(k, 10)
		var err error
		if v := cp.Get(key); v != nil {
			err = o.Set(key, v)
		} else {
			err = o.Delete(key)
		}
		if err != nil {
			panic(err)
		}
	}
}

// compareNumbers is the default order of a typed array: NaN last, -0 before +0.
func compareNumbers(x, y float64) int {
	switch {
	case math.IsNaN(x) && math.IsNaN(y):
		return 0
	case math.IsNaN(x):
		return 1
	case math.IsNaN(y):
		return -1
	case x < y:
		return -1
	case x > y:
		return 1
	case x == 0 && y == 0:
		sx, sy := math.Signbit(x), math.Signbit(y)
		if sx && !sy {
			return -1
		}
		if sy && !sx {
			return 1
		}
	}
	return 0
}

// ---- JSON ----

// jsonParseEstimate estimates the Go memory JSON.parse builds from s: an
// object costs a few hundred bytes, an array element an interface, a
// string its own bytes.
func jsonParseEstimate(s string) int64 {
	n := int64(len(s))
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '{':
			n += 320
		case '[':
			n += 96
		case ',', ':':
			n += 24
		}
	}
	return n
}

// guardJSON replaces parse and stringify on this runtime's JSON object.
func guardJSON(b *builtins, obj *goja.Object) {
	for _, m := range []struct {
		name string
		mk   func(*builtins, goja.Callable) func(goja.FunctionCall) goja.Value
	}{{"parse", guardJSONParse}, {"stringify", guardJSONStringify}} {
		ov := obj.Get(m.name).(*goja.Object)
		orig, _ := goja.AssertFunction(ov)
		_ = obj.DefineDataProperty(m.name, b.newMethod(m.name, ov, m.mk(b, orig)), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
}

func guardJSONParse(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		s := b.toStr(c.Argument(0))
		text := s.String()
		if err := checkJSONDepth(text); err != nil {
			panic(b.i.newError("SyntaxError", "JSON.parse: "+err.Error()))
		}
		if s.Length() > chunkUnits {
			b.lim.reserve(jsonParseEstimate(text))
			// goja parses about 100 MB/s here; a parse that cannot end
			// within the turn's time ends the turn now.
			b.needCPU(int64(len(text)), 10)
		}
		args := append([]goja.Value{s}, c.Arguments[min(1, len(c.Arguments)):]...)
		return call(orig, goja.Undefined(), args...)
	}
}

func guardJSONStringify(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		args := append([]goja.Value(nil), c.Arguments...)
		for len(args) < 2 {
			args = append(args, goja.Undefined())
		}
		var user goja.Callable
		var keys []string
		if r := args[1]; !isNullish(r) {
			if f, ok := goja.AssertFunction(r); ok {
				user = f
			} else if ro, ok := r.(*goja.Object); ok && b.isArray(ro) {
				// An allow-list of keys: goja's own loop would read the
				// list's length again and serialize without a CPU check;
				// it is read here, once, and applied by the replacer
				// below, which hands goja each object's listed keys, in
				// the list's order.
				keys = b.jsonKeys(ro)
			}
		}
		var out int64
		// The objects being serialized, innermost last: the replacer is
		// called with this = the holder of each value, depth first.
		var stack []*goja.Object
		args[1] = b.i.fn("replacer", func(rc goja.FunctionCall) goja.Value {
			b.tickSmall()
			holder, _ := rc.This.(*goja.Object)
			for len(stack) > 0 && stack[len(stack)-1] != holder {
				stack = stack[:len(stack)-1]
			}
			key := b.toStr(rc.Argument(0))
			v := rc.Argument(1)
			if user != nil {
				v = call(user, rc.This, rc.Arguments...)
			}
			if o, ok := v.(*goja.Object); ok && keys != nil {
				v = b.jsonPick(o, keys)
			}
			if o, ok := v.(*goja.Object); ok {
				if _, fn := goja.AssertFunction(o); !fn {
					stack = append(stack, o)
					if len(stack) > maxStringifyDepth {
						panic(b.i.newError("RangeError", fmt.Sprintf("JSON.stringify: value nests deeper than %d levels", maxStringifyDepth)))
					}
				}
			}
			out += 16 + int64(key.Length())
			if s, ok := v.(goja.String); ok {
				out += int64(s.Length()) * unitBytes(s)
			}
			// The output is bounded, not charged: most of it is garbage
			// soon, and charging garbage only brings on heap walks, which
			// run to completion; the memory probe sees what stays.
			if out > b.lim.limit {
				panic(b.refuse(fmt.Sprintf("JSON.stringify output of %d bytes is over the memory limit of %d bytes", out, b.lim.limit)))
			}
			return v
		})
		return call(orig, goja.Undefined(), args...)
	}
}

// jsonKeys is the property list of JSON.stringify's array replacer: its
// strings and numbers (and String and Number objects) as strings, in
// order, without repeats.
func (b *builtins) jsonKeys(list *goja.Object) []string {
	l := lengthOf(list)
	b.refuseOver(l, bytesPerElement, "JSON.stringify property list") // transient: not charged
	seen := make(map[string]bool)
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for k := int64(0); k < l; k++ {
		if k%1024 == 0 {
			b.tick()
		}
		v := list.Get(strconv.FormatInt(k, 10))
		switch x := v.(type) {
		case nil:
		case goja.String:
			add(x.String())
		case *goja.Object:
			if cn := x.ClassName(); cn == "String" || cn == "Number" {
				add(b.toStr(x).String())
			}
		default:
			switch v.Export().(type) {
			case int64, float64:
				add(v.String())
			}
		}
	}
	return keys
}

// jsonPick returns what JSON.stringify serializes of o under a property
// list: o itself if it is an array, a function or a primitive's wrapper,
// otherwise a view of o's listed properties in the list's order (an
// ordinary object would put integer keys first).
func (b *builtins) jsonPick(o *goja.Object, keys []string) goja.Value {
	if _, fn := goja.AssertFunction(o); fn || b.isArray(o) {
		return o
	}
	switch o.ClassName() {
	case "Number", "String", "Boolean", "BigInt":
		return o
	}
	// The view is garbage once serialized: it is not charged (charging
	// garbage would only bring on heap walks); keys is bounded above.
	v := &jsonView{vals: make(map[string]goja.Value, len(keys))}
	for k, key := range keys {
		if k%1024 == 0 {
			b.tick()
		}
		if x := o.Get(key); x != nil {
			v.keys = append(v.keys, key)
			v.vals[key] = x
		}
	}
	return b.rt.NewDynamicObject(v)
}

// jsonView is the listed properties of an object, for JSON.stringify.
type jsonView struct {
	keys []string
	vals map[string]goja.Value
}

func (v *jsonView) Get(k string) goja.Value     { return v.vals[k] }
func (v *jsonView) Set(string, goja.Value) bool { return false }
func (v *jsonView) Has(k string) bool           { return v.vals[k] != nil }
func (v *jsonView) Delete(string) bool          { return false }
func (v *jsonView) Keys() []string              { return v.keys }

// ---- typed arrays ----

// ctorKind names a constructor guarded in place (bit of builtins.patched).
type ctorKind uint8

const (
	ctorArrayBuffer ctorKind = iota
	ctorTypedArray           // %TypedArray% (from) and the eleven kinds
	ctorFunction
	ctorAsyncFunction
	ctorGeneratorFunction
	ctorRegExp
	ctorArray
	ctorArrayToString
	ctorIterArray // the array iterator's next (arrays, typed arrays, arguments)
	ctorIterString
	ctorIterMap
	ctorIterSet
)

var typedArrayCtors = []struct {
	name string
	size int64
}{
	{"Int8Array", 1}, {"Uint8Array", 1}, {"Uint8ClampedArray", 1},
	{"Int16Array", 2}, {"Uint16Array", 2}, {"Int32Array", 4}, {"Uint32Array", 4},
	{"Float32Array", 4}, {"Float64Array", 8}, {"BigInt64Array", 8}, {"BigUint64Array", 8},
}

// origGlobal returns goja's own global name of this runtime, from the
// global template's original factory, whatever the script did since.
func (b *builtins) origGlobal(name string) *goja.Object {
	v := globalFactories[name](b.rt)
	rv := reflect.ValueOf(v)
	if rv.Type() != layout.vpType {
		panic("isolate: global " + name + " is not a property")
	}
	o, _ := (*(*goja.Value)(unsafe.Add(rv.UnsafePointer(), layout.vpValue))).(*goja.Object)
	return o
}

// ensure guards the constructors of kind k, building them if need be.
func (b *builtins) ensure(k ctorKind) {
	if b.patched&(1<<k) != 0 {
		return
	}
	b.patched |= 1 << k
	switch k {
	case ctorArrayBuffer, ctorTypedArray:
		b.patched |= 1<<ctorArrayBuffer | 1<<ctorTypedArray
		b.guardTypedArrays()
	case ctorFunction:
		b.guardFunctionCtor(b.origGlobal("Function"), "function")
	case ctorAsyncFunction:
		b.guardFunctionCtor(gojaGetAsyncFunction(b.rt), "async function")
	case ctorGeneratorFunction:
		b.guardFunctionCtor(gojaGetGeneratorFunction(b.rt), "function*")
	case ctorRegExp:
		b.guardRegExpCtor(gojaGetRegExp(b.rt))
	case ctorArray:
		b.guardArrayCtor(b.origGlobal("Array"))
	case ctorArrayToString:
		b.guardArrayToString(gojaGetArrayToString(b.rt))
	case ctorIterArray:
		b.guardIterator(gojaGetArrayIteratorPrototype)
	case ctorIterString:
		b.guardIterator(gojaGetStringIteratorPrototype)
	case ctorIterMap:
		b.guardIterator(gojaGetMapIteratorPrototype)
	case ctorIterSet:
		b.guardIterator(gojaGetSetIteratorPrototype)
	}
}

// guardTypedArrays guards ArrayBuffer, every typed array and
// %TypedArray%.from, all at once: an instance of any reaches the others.
func (b *builtins) guardTypedArrays() {
	ab := b.origGlobal("ArrayBuffer")
	patchCtor(ab, nil, func(orig func([]goja.Value, *goja.Object) *goja.Object) func([]goja.Value, *goja.Object) *goja.Object {
		return func(args []goja.Value, nt *goja.Object) *goja.Object {
			if len(args) > 0 {
				n := b.toIndex(args[0])
				args = append([]goja.Value{b.rt.ToValue(n)}, args[1:]...)
				if n > 0 {
					b.reserveElems(n, 1, "ArrayBuffer")
					b.needFresh(n) // zeroed in one piece (dos_fresh.go)
				}
			}
			return orig(args, nt)
		}
	})
	for _, ta := range typedArrayCtors {
		size := ta.size
		name := ta.name
		patchCtor(b.origGlobal(ta.name), nil, func(orig func([]goja.Value, *goja.Object) *goja.Object) func([]goja.Value, *goja.Object) *goja.Object {
			return func(args []goja.Value, nt *goja.Object) *goja.Object {
				if strings.HasPrefix(name, "Big") {
					if b.bigOff() {
						panic(b.rt.NewTypeError(bigintOffMsg)) // a BigInt source (bigint.go)
					}
					b.big.made++ // for a typed array map's species (dos_species.go)
				}
				if len(args) == 0 {
					return orig(args, nt)
				}
				src, ok := args[0].(*goja.Object)
				if !ok {
					n := b.toIndex(args[0])
					b.reserveElems(n, size, name)
					b.needFresh(n * size)
					return orig([]goja.Value{b.rt.ToValue(n)}, nt)
				}
				if src.ExportType() == arrayBufferType {
					// A view: nothing is allocated; offset and length are
					// coerced once.
					rest := make([]goja.Value, len(args))
					rest[0] = src
					for k := 1; k < len(args); k++ {
						if goja.IsUndefined(args[k]) {
							rest[k] = args[k]
						} else {
							rest[k] = b.rt.ToValue(b.toIndex(args[k]))
						}
					}
					return orig(rest, nt)
				}
				if n, ok := typedLength(src); ok {
					b.reserveElems(n, size, name)
					b.needFresh(n * size)
					return orig(args[:1], nt)
				}
				// An iterable or an array-like: its values are taken here,
				// once, bounded, and the typed array is filled from them.
				vals := b.listFrom(src)
				b.reserveElems(int64(len(vals)), size, name)
				if strings.HasPrefix(name, "Big") {
					b.bigElements(vals) // strings parsed as BigInts (dos_bigarray.go)
				}
				o := orig([]goja.Value{b.rt.ToValue(len(vals))}, nt)
				for k, v := range vals {
					if k%1024 == 0 {
						b.tick()
					}
					if err := o.Set(strconv.Itoa(k), v); err != nil {
						panic(err)
					}
				}
				return o
			}
		})
	}
	// %TypedArray%.from builds its result with `new this(n)` (guarded
	// above) after reading the source: it gets the values read here.
	tac := b.origGlobal("Uint8Array").Prototype()
	from, _ := tac.Get("from").(*goja.Object)
	if from == nil {
		panic("isolate: %TypedArray%.from is missing")
	}
	patchCtor(from, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			src, ok := c.Argument(0).(*goja.Object)
			if !ok {
				return orig(c)
			}
			// What a BigInt typed array would parse is converted first:
			// the map function's results, or else the values.
			big := b.mayMakeBigArray(c.This, true)
			mapped := big && !goja.IsUndefined(c.Argument(1))
			if mapped {
				c.Arguments = []goja.Value{src, b.bigMapper(c.Argument(1), c.Argument(2))}
			}
			if _, ok := typedLength(src); ok {
				return orig(c)
			}
			vals := b.listFrom(src)
			if big && !mapped {
				b.bigElements(vals)
			}
			args := append([]goja.Value{b.newArray(vals)}, c.Arguments[1:]...)
			return orig(goja.FunctionCall{This: c.This, Arguments: args})
		}
	}, nil)
	b.guardArrayOf(tac)
}

var (
	arrayBufferType = reflect.TypeOf(goja.ArrayBuffer{})
	proxyType       = reflect.TypeOf(goja.Proxy{})
)

// typedLength returns the element count of a typed array, read from its
// storage (a length getter can be replaced by a script).
func typedLength(o *goja.Object) (int64, bool) {
	t := o.ExportType()
	if t == nil || t.Kind() != reflect.Slice {
		return 0, false
	}
	switch t.Elem().Kind() {
	case reflect.Int8, reflect.Uint8, reflect.Int16, reflect.Uint16, reflect.Int32, reflect.Uint32,
		reflect.Float32, reflect.Float64, reflect.Int64, reflect.Uint64:
	default:
		return 0, false
	}
	rv := reflect.ValueOf(o.Export())
	if rv.Kind() != reflect.Slice {
		return 0, false
	}
	return int64(rv.Len()), true
}

// listFrom takes the values of an iterable, or of an array-like, once,
// charging them to the memory limit and checking the CPU limit as it goes.
func (b *builtins) listFrom(src *goja.Object) []goja.Value {
	var vals []goja.Value
	if it := src.GetSymbol(goja.SymIterator); it != nil && !isNullish(it) {
		fn, ok := goja.AssertFunction(it)
		if !ok {
			panic(b.rt.NewTypeError("Symbol.iterator is not a function"))
		}
		iter, ok := call(fn, src).(*goja.Object)
		if !ok {
			panic(b.rt.NewTypeError("Result of the Symbol.iterator method is not an object"))
		}
		next, ok := goja.AssertFunction(iter.Get("next"))
		if !ok {
			panic(b.rt.NewTypeError("iterator.next is not a function"))
		}
		for {
			if len(vals)%1024 == 0 {
				b.tick()
				b.lim.reserve(1024 * bytesPerElement)
			}
			res, ok := call(next, iter).(*goja.Object)
			if !ok {
				panic(b.rt.NewTypeError("Iterator result is not an object"))
			}
			if res.Get("done").ToBoolean() {
				return vals
			}
			vals = append(vals, orUndefined(res.Get("value")))
		}
	}
	l := lengthOf(src)
	b.reserveElems(l, bytesPerElement, "array-like")
	vals = make([]goja.Value, 0, l)
	for k := int64(0); k < l; k++ {
		if k%1024 == 0 {
			b.tick()
		}
		vals = append(vals, orUndefined(src.Get(strconv.FormatInt(k, 10))))
	}
	return vals
}

func orUndefined(v goja.Value) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return v
}

// toIndex is the spec's ToIndex, run once: a RangeError unless v is an
// integer in [0, 2^53).
func (b *builtins) toIndex(v goja.Value) int64 {
	f := v.ToFloat()
	if math.IsNaN(f) {
		return 0
	}
	f = math.Trunc(f)
	if f < 0 || f > 1<<53-1 {
		panic(b.i.newError("RangeError", fmt.Sprintf("Invalid length %v", f)))
	}
	return int64(f)
}

// reserveElems charges n elements of size bytes, refusing, before anything
// is allocated, a single allocation larger than the memory limit.
func (b *builtins) reserveElems(n, size int64, what string) {
	if n > b.lim.limit/size {
		panic(b.refuse(fmt.Sprintf("%s of %d elements is over the memory limit of %d bytes", what, n, b.lim.limit)))
	}
	b.lim.reserve(n * size)
}

// refuseOver refuses, like reserveElems, a transient buffer of n elements
// larger than the memory limit, without charging it.
func (b *builtins) refuseOver(n, size int64, what string) {
	if n > b.lim.limit/size {
		panic(b.refuse(fmt.Sprintf("%s of %d elements is over the memory limit of %d bytes", what, n, b.lim.limit)))
	}
}

// refusedError is a refused allocation: the script can catch it as a
// RangeError; uncaught, it ends the incarnation with ErrMemoryLimit.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return ErrMemoryLimit }

// refuse makes the exception of a refused allocation: a RangeError by name
// and message, which carries ErrMemoryLimit to the host (goja unwraps the
// Go error of a GoError exception).
func (b *builtins) refuse(msg string) *goja.Object {
	e := b.rt.NewGoError(&refusedError{msg})
	_ = e.DefineDataProperty("name", b.rt.ToValue("RangeError"), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	b.refused = e
	return e
}

// ---- regular expressions ----

// guardRegExpCtor checks every source the RegExp constructor compiles.
func (b *builtins) guardRegExpCtor(re *goja.Object) {
	check := func(args []goja.Value) []goja.Value {
		if len(args) == 0 {
			return args
		}
		p := args[0]
		if o, ok := p.(*goja.Object); ok && o.ClassName() == "RegExp" {
			return args // an existing regular expression's source was checked
		}
		if isNullish(p) {
			return args
		}
		s := b.toStr(p)
		b.checkRegExp(s.String())
		out := append([]goja.Value{s}, args[1:]...)
		if len(out) > 1 && !goja.IsUndefined(out[1]) {
			out[1] = b.toStr(out[1])
		}
		return out
	}
	patchCtor(re, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			c.Arguments = check(c.Arguments)
			return orig(c)
		}
	}, func(orig func([]goja.Value, *goja.Object) *goja.Object) func([]goja.Value, *goja.Object) *goja.Object {
		return func(args []goja.Value, nt *goja.Object) *goja.Object {
			return orig(check(args), nt)
		}
	})
	// exec and test report a match that timed out as a RegExpTimeoutError
	// rather than as no match (goja drops regexp2's timeout error). test
	// does not go through exec; match, replace, search and split do.
	proto, _ := re.Get("prototype").(*goja.Object)
	for _, name := range []string{"exec", "test"} {
		f, _ := proto.Get(name).(*goja.Object)
		if f == nil {
			panic("isolate: RegExp.prototype." + name + " is missing")
		}
		patchCtor(f, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
			return func(c goja.FunctionCall) goja.Value {
				b.tickSmall()
				b.checkRE2Input(&c)
				t := time.Now()
				v := orig(c)
				if (goja.IsNull(v) || v.StrictEquals(b.rt.ToValue(false))) && time.Since(t) >= time.Millisecond {
					if o, ok := c.This.(*goja.Object); ok && timedOut(o, c.Argument(0).String()) {
						b.tick()
						panic(b.i.newError("RegExpTimeoutError",
							fmt.Sprintf("regular expression match exceeded %v", regexpTimeout)))
					}
				}
				return v
			}
		}, nil)
	}
	// The methods the String methods call, also callable directly: on a
	// long input they meet the same check as exec.
	for _, sym := range []*goja.Symbol{goja.SymMatch, goja.SymMatchAll, goja.SymSearch, goja.SymReplace, goja.SymSplit} {
		f, _ := proto.GetSymbol(sym).(*goja.Object)
		if f == nil {
			panic("isolate: RegExp.prototype[" + sym.String() + "] is missing")
		}
		patchCtor(f, func(orig func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
			return func(c goja.FunctionCall) goja.Value {
				b.checkRE2Input(&c)
				return orig(c)
			}
		}, nil)
	}
}

// Go's RE2 engine, which runs every pattern without lookaround or
// backreferences, is linear in its input but never looks at the
// interrupt: `/(a|aa|aaa)*c/.test("a".repeat(2e7))` ran 2.2 s. Its cost
// per input unit grows with the pattern's program, so an input longer
// than re2Free units is refused up front, with ErrCPULimit, when at
// re2NsPerUnit(source) it could not be worked through in the time the
// turn has left (110 ns per unit measured for that 12-unit pattern; the
// estimate gives it 112).
const re2Free = 4096

func re2NsPerUnit(src string) int64 { return 4 * (int64(len(src)) + 16) }

// checkRE2Input converts the input argument of a RegExp method to a string
// once, hands that on, and refuses a long input to an RE2 pattern that
// could not be matched in time.
func (b *builtins) checkRE2Input(c *goja.FunctionCall) {
	if len(c.Arguments) == 0 {
		return
	}
	s, ok := c.Arguments[0].(goja.String)
	if !ok {
		if _, obj := c.Arguments[0].(*goja.Object); !obj {
			return // a primitive: goja's conversion has no effects
		}
		s = b.toStr(c.Arguments[0])
		c.Arguments = append([]goja.Value{s}, c.Arguments[1:]...)
	}
	if s.Length() <= re2Free {
		return
	}
	rx, ok := c.This.(*goja.Object)
	if !ok {
		return
	}
	src, ok := rx.Get("source").(goja.String)
	if !ok || backtracking(src.String()) {
		return // regexp2: every match has its timeout
	}
	b.needCPU(int64(s.Length()), re2NsPerUnit(src.String()))
}

// timedOut tells a slow non-match of a backtracking pattern from a real
// one: the match is run again on regexp2 directly, which reports a timeout.
func timedOut(rx *goja.Object, input string) bool {
	src := rx.Get("source").String()
	if !backtracking(src) {
		return false
	}
	opts := regexp2.RegexOptions(regexp2.ECMAScript)
	for _, f := range rx.Get("flags").String() {
		switch f {
		case 'i':
			opts |= regexp2.IgnoreCase
		case 'm':
			opts |= regexp2.Multiline
		case 's':
			opts |= regexp2.Singleline
		case 'u':
			opts |= regexp2.Unicode
		}
	}
	if regExpShape(src) != nil {
		return false
	}
	re, err := regexp2.Compile(src, opts)
	if err != nil {
		return false
	}
	_, err = re.MatchString(input)
	return err != nil
}

// guardRegExpArg guards String.prototype.match, matchAll and search, which
// compile an argument that is not a regular expression.
func guardRegExpArg(name string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if isNullish(c.This) {
				return call(orig, c.This, c.Arguments...)
			}
			args := append([]goja.Value(nil), c.Arguments...)
			if len(args) > 0 {
				switch a := args[0].(type) {
				case *goja.Object:
					if m := a.GetSymbol(regExpSymbol(name)); m != nil && !isNullish(m) {
						return call(orig, c.This, args...) // the object's own method
					}
					args[0] = b.toStr(a)
				default:
					if !isNullish(a) {
						args[0] = b.toStr(a)
					}
				}
				if s, ok := args[0].(goja.String); ok {
					b.checkRegExp(s.String())
				}
			}
			b.ensure(ctorRegExp) // goja builds a RegExp from anything else
			this := b.thisString(c, name)
			b.needCPU(int64(this.Length()), 20)
			return call(orig, this, args...)
		}
	}
}

func regExpSymbol(name string) *goja.Symbol {
	switch name {
	case "matchAll":
		return goja.SymMatchAll
	case "search":
		return goja.SymSearch
	}
	return goja.SymMatch
}

// backtracking reports whether a pattern source needs regexp2: lookaround
// or a backreference.
func backtracking(src string) bool {
	if strings.Contains(src, "(?=") || strings.Contains(src, "(?!") ||
		strings.Contains(src, "(?<=") || strings.Contains(src, "(?<!") || strings.Contains(src, `\k<`) {
		return true
	}
	for k := 0; k+1 < len(src); k++ {
		if src[k] == '\\' {
			if c := src[k+1]; c >= '1' && c <= '9' {
				return true
			}
			k++
		}
	}
	return false
}

// newArray makes a plain array of vals.
func (b *builtins) newArray(vals []goja.Value) *goja.Object {
	items := make([]any, len(vals))
	for k, v := range vals {
		items[k] = v
	}
	return b.rt.NewArray(items...)
}
