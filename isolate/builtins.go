package isolate

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"
)

// goja checks an interrupt only between JS instructions, so one call of a
// builtin implemented in Go runs to completion however long it takes and
// however much it allocates. installBuiltins puts a wrapper in front of the
// builtins that can build large values or run long loops:
//
//   - before building a value, the wrapper charges its size to the memory
//     limit (limiter.reserve), which ends the turn with ErrMemoryLimit
//     instead of letting the allocation happen;
//   - long loops are cut into chunks of at most chunkUnits elements, with
//     limiter.checkCPU between chunks; sorts and JSON.stringify get a Go
//     comparator or replacer that calls checkCPU, so the work stops within
//     one comparison of the CPU limit.
//
// The wrappers of String.prototype, Array.prototype and RegExp.prototype are
// installed before the script runs, since every literal reaches those. The
// typed-array family and JSON are installed on first use (see lazy.go). In
// both cases the originals are captured first, so a script that replaces a
// builtin cannot reach around its wrapper.
const chunkUnits = 64 << 10

// Array chunks are smaller: goja fills a fresh (sparse) array at about
// 1 µs per element and joins at about 0.15 µs per element, so a chunk
// stays well under a millisecond.
const (
	fillChunk = 512
	joinChunk = 4096
)

// Regular expressions with lookaround or backreferences run on regexp2,
// which backtracks and which goja runs without a timeout. Every such match
// is bounded by regexpTimeout; a match that times out throws
// RegExpTimeoutError instead of reporting no match.
const regexpTimeout = 10 * time.Millisecond

func init() {
	// regexp2 reads these when a pattern is compiled and from its clock
	// goroutine; they are set before any isolate exists.
	regexp2.DefaultMatchTimeout = regexpTimeout
	regexp2.SetTimeoutCheckPeriod(time.Millisecond)
}

// bytesPerElement is the Go memory one JS array element takes (an interface).
const bytesPerElement = 16

type builtins struct {
	i      *Isolate
	rt     *goja.Runtime
	repeat goja.Callable
	slice  goja.Callable
}

// installBuiltins wraps the builtins every literal reaches, and installs
// the deferred groups at once if they cannot be deferred (see lazy.go).
func (i *Isolate) installBuiltins() error {
	b := &builtins{i: i, rt: i.rt}
	i.builtins = b
	steps := []func() error{b.strings, b.arrays, b.regexps}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("install builtins: %w", err)
		}
	}
	if i.lazy != nil {
		return nil
	}
	g := i.rt.GlobalObject()
	define := func(name string, v goja.Value) {
		_ = g.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	for grp := range numLazyGroups {
		if err := i.installGroup(grp, g.Get, define); err != nil {
			return fmt.Errorf("install builtins: %w", err)
		}
	}
	return nil
}

// installGroup installs one group of deferred globals. original returns
// goja's own builtin of a name; define makes a value a global.
func (i *Isolate) installGroup(g lazyGroup, original func(string) goja.Value, define func(string, goja.Value)) error {
	switch g {
	case lazyTypedArrays:
		return i.builtins.typedArrays(original, define)
	case lazyJSON:
		return i.builtins.json(original, define)
	case lazyEval:
		return i.installEval(original, define)
	case lazyWeb:
		return i.installWeb(define)
	}
	return nil
}

func (b *builtins) object(path ...string) (*goja.Object, error) {
	var v goja.Value = b.rt.GlobalObject()
	for _, p := range path {
		o, ok := v.(*goja.Object)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", strings.Join(path, "."))
		}
		v = o.Get(p)
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", strings.Join(path, "."))
	}
	return o, nil
}

// wrap replaces obj[name] with a native function made by mk from the
// original, keeping the property's name and length and its attributes
// (writable, configurable, not enumerable).
func (b *builtins) wrap(obj *goja.Object, name string, mk func(orig goja.Callable) func(goja.FunctionCall) goja.Value) error {
	ov := obj.Get(name)
	orig, ok := goja.AssertFunction(ov)
	if !ok {
		return fmt.Errorf("%s is not a function", name)
	}
	f := b.i.fn(name, mk(orig)).(*goja.Object)
	_ = f.DefineDataProperty("length", ov.(*goja.Object).Get("length"), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return obj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

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

// ---- strings ----

func (b *builtins) strings() error {
	proto, err := b.object("String", "prototype")
	if err != nil {
		return err
	}
	b.repeat, _ = goja.AssertFunction(proto.Get("repeat"))
	lim := b.i.lim
	if err := b.wrap(proto, "repeat", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if isNullish(c.This) {
				return call(orig, c.This, c.Arguments...)
			}
			s := b.toStr(c.This)
			n := c.Argument(0).ToFloat()
			if math.IsNaN(n) || n < 1 || math.IsInf(n, 1) || s.Length() == 0 {
				return call(orig, s, b.rt.ToValue(n))
			}
			n = math.Trunc(n)
			total := float64(s.Length()) * n
			if total > float64(lim.limit) {
				lim.reserve(-1)
			}
			lim.reserve(int64(total) * unitBytes(s))
			return b.repeatChunked(s, int64(n))
		}
	}); err != nil {
		return err
	}
	for _, name := range []string{"padStart", "padEnd"} {
		start := name == "padStart"
		if err := b.wrap(proto, name, func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
			return func(c goja.FunctionCall) goja.Value {
				if isNullish(c.This) {
					return call(orig, c.This, c.Arguments...)
				}
				s := b.toStr(c.This)
				n := c.Argument(0).ToFloat()
				if math.IsNaN(n) || n <= float64(s.Length()) {
					return s
				}
				fill := goja.String(nil)
				if f := c.Argument(1); goja.IsUndefined(f) {
					fill = b.toStr(b.rt.ToValue(" "))
				} else {
					fill = b.toStr(f)
				}
				if fill.Length() == 0 {
					return s
				}
				if n > float64(lim.limit) {
					lim.reserve(-1)
				}
				total := int64(n)
				lim.reserve(total * max(unitBytes(s), unitBytes(fill)))
				need := total - int64(s.Length())
				var sb goja.StringBuilder
				if !start {
					sb.WriteString(s)
				}
				full := need / int64(fill.Length())
				if full > 0 {
					sb.WriteString(b.repeatChunked(fill, full))
				}
				if part := int(need % int64(fill.Length())); part > 0 {
					sb.WriteString(fill.Substring(0, part))
				}
				if start {
					sb.WriteString(s)
				}
				return sb.String()
			}
		}); err != nil {
			return err
		}
	}
	return b.wrap(proto, "concat", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			if isNullish(c.This) {
				return call(orig, c.This, c.Arguments...)
			}
			s := b.toStr(c.This)
			args := make([]goja.Value, len(c.Arguments))
			total := int64(s.Length()) * unitBytes(s)
			for k, a := range c.Arguments {
				as := b.toStr(a)
				args[k] = as
				total += int64(as.Length()) * unitBytes(as)
			}
			lim.reserve(total)
			return call(orig, s, args...)
		}
	})
}

// repeatChunked returns s repeated n times, built in pieces of about
// chunkUnits with a CPU check between them. The size is already charged.
func (b *builtins) repeatChunked(s goja.String, n int64) goja.String {
	per := max(int64(chunkUnits/s.Length()), 1)
	if n <= per {
		return b.toStr(call(b.repeat, s, b.rt.ToValue(n)))
	}
	piece := b.toStr(call(b.repeat, s, b.rt.ToValue(per)))
	var sb goja.StringBuilder
	sb.Grow(int(n) * s.Length())
	for ; n >= per; n -= per {
		b.i.lim.checkCPU()
		sb.WriteString(piece)
	}
	if n > 0 {
		sb.WriteString(b.toStr(call(b.repeat, s, b.rt.ToValue(n))))
	}
	return sb.String()
}

// ---- arrays ----

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

func (b *builtins) arrays() error {
	proto, err := b.object("Array", "prototype")
	if err != nil {
		return err
	}
	b.slice, _ = goja.AssertFunction(proto.Get("slice"))
	lim := b.i.lim
	if err := b.wrap(proto, "fill", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			o, ok := c.This.(*goja.Object)
			if !ok {
				return call(orig, c.This, c.Arguments...)
			}
			l := lengthOf(o)
			from := relIndex(c.Argument(1), l, 0)
			to := relIndex(c.Argument(2), l, l)
			if to-from <= fillChunk {
				lim.reserve(max(to-from, 0) * bytesPerElement)
				return call(orig, o, c.Argument(0), b.rt.ToValue(from), b.rt.ToValue(to))
			}
			if to-from > lim.limit/bytesPerElement {
				lim.reserve(-1)
			}
			for k := from; k < to; k += fillChunk {
				lim.checkCPU()
				end := min(k+fillChunk, to)
				lim.reserve((end - k) * bytesPerElement)
				call(orig, o, c.Argument(0), b.rt.ToValue(k), b.rt.ToValue(end))
			}
			return o
		}
	}); err != nil {
		return err
	}
	if err := b.wrap(proto, "join", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			o, ok := c.This.(*goja.Object)
			if !ok {
				return call(orig, c.This, c.Arguments...)
			}
			l := lengthOf(o)
			sep := goja.String(nil)
			if a := c.Argument(0); goja.IsUndefined(a) {
				sep = b.toStr(b.rt.ToValue(","))
			} else {
				sep = b.toStr(a)
			}
			if l > 0 {
				lim.reserve((l - 1) * int64(sep.Length()) * unitBytes(sep))
			}
			if l <= joinChunk {
				return call(orig, o, sep)
			}
			var sb goja.StringBuilder
			for k := int64(0); k < l; k += joinChunk {
				lim.checkCPU()
				part := b.toStr(call(orig, call(b.slice, o, b.rt.ToValue(k), b.rt.ToValue(min(k+joinChunk, l))), sep))
				lim.reserve(int64(part.Length()) * unitBytes(part))
				if k > 0 {
					sb.WriteString(sep)
				}
				sb.WriteString(part)
			}
			return sb.String()
		}
	}); err != nil {
		return err
	}
	if err := b.wrap(proto, "concat", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			n := int64(1)
			if o, ok := c.This.(*goja.Object); ok {
				n = lengthOf(o)
			}
			for _, a := range c.Arguments {
				if o, ok := a.(*goja.Object); ok {
					n += lengthOf(o)
				} else {
					n++
				}
			}
			if n > lim.limit/bytesPerElement {
				lim.reserve(-1)
			}
			lim.reserve(n * bytesPerElement)
			return call(orig, c.This, c.Arguments...)
		}
	}); err != nil {
		return err
	}
	return b.wrap(proto, "sort", b.sortWrapper(false))
}

// sortWrapper makes a sort that passes a Go comparator to the original:
// the default order for typed (numeric) or plain (string) arrays, or the
// script's comparator called through. Either checks the CPU limit on every
// comparison.
func (b *builtins) sortWrapper(typed bool) func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		lim := b.i.lim
		var cmp goja.Value
		if typed {
			cmp = b.i.fn("compare", func(c goja.FunctionCall) goja.Value {
				lim.checkCPU()
				return b.rt.ToValue(compareNumbers(c.Argument(0).ToFloat(), c.Argument(1).ToFloat()))
			})
		} else {
			cmp = b.i.fn("compare", func(c goja.FunctionCall) goja.Value {
				lim.checkCPU()
				return b.rt.ToValue(b.toStr(c.Argument(0)).CompareTo(b.toStr(c.Argument(1))))
			})
		}
		return func(c goja.FunctionCall) goja.Value {
			o, ok := c.This.(*goja.Object)
			if !ok || lengthOf(o) <= 1024 {
				return call(orig, c.This, c.Arguments...)
			}
			a := c.Argument(0)
			if goja.IsUndefined(a) {
				return call(orig, o, cmp)
			}
			user, ok := goja.AssertFunction(a)
			if !ok {
				return call(orig, o, a) // throws the TypeError
			}
			return call(orig, o, b.i.fn("compare", func(c goja.FunctionCall) goja.Value {
				lim.checkCPU()
				return call(user, goja.Undefined(), c.Argument(0), c.Argument(1))
			}))
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

// jsonValueBytes estimates the Go memory JSON.parse builds per input byte
// of each kind: an object costs a few hundred bytes, an array element an
// interface, a string its own bytes.
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

func (b *builtins) json(original func(string) goja.Value, define func(string, goja.Value)) error {
	obj, ok := original("JSON").(*goja.Object)
	if !ok {
		return fmt.Errorf("JSON is not an object")
	}
	lim := b.i.lim
	if err := b.wrap(obj, "parse", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			s := b.toStr(c.Argument(0))
			if s.Length() > chunkUnits {
				text := s.String()
				lim.reserve(jsonParseEstimate(text))
				// goja parses about 100 MB/s here; a parse that cannot end
				// within the turn's time ends the turn now.
				if time.Duration(len(text))*10*time.Nanosecond > lim.remaining() {
					panic(&limitAbort{ErrCPULimit})
				}
			}
			args := append([]goja.Value{s}, c.Arguments[min(1, len(c.Arguments)):]...)
			return call(orig, goja.Undefined(), args...)
		}
	}); err != nil {
		return err
	}
	defer define("JSON", obj)
	return b.wrap(obj, "stringify", func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			args := append([]goja.Value(nil), c.Arguments...)
			for len(args) < 2 {
				args = append(args, goja.Undefined())
			}
			var user goja.Callable
			if r := args[1]; !isNullish(r) {
				f, ok := goja.AssertFunction(r)
				if !ok {
					// An allow-list of keys: goja's own loop, unguarded.
					return call(orig, goja.Undefined(), args...)
				}
				user = f
			}
			var out, calls int64
			args[1] = b.i.fn("replacer", func(rc goja.FunctionCall) goja.Value {
				lim.checkCPU()
				v := rc.Argument(1)
				if user != nil {
					v = call(user, rc.This, rc.Arguments...)
				}
				out += 16 + int64(b.toStr(rc.Argument(0)).Length())
				if s, ok := v.(goja.String); ok {
					out += int64(s.Length()) * unitBytes(s)
				}
				if calls++; calls%1024 == 0 || out > 1<<20 {
					lim.reserve(out)
					out = 0
				}
				return v
			})
			return call(orig, goja.Undefined(), args...)
		}
	})
}

// ---- typed arrays ----

var typedArrayCtors = []struct {
	name string
	size int64
}{
	{"ArrayBuffer", 1}, {"Int8Array", 1}, {"Uint8Array", 1}, {"Uint8ClampedArray", 1},
	{"Int16Array", 2}, {"Uint16Array", 2}, {"Int32Array", 4}, {"Uint32Array", 4},
	{"Float32Array", 4}, {"Float64Array", 8}, {"BigInt64Array", 8}, {"BigUint64Array", 8},
}

// typedArrays wraps ArrayBuffer and every typed-array constructor, on the
// global object and as their prototypes' constructor, and
// %TypedArray%.prototype.sort. It is one group: an instance of any of them
// reaches the others (buffer, constructor, species), so they are wrapped
// together before a script holds any.
func (b *builtins) typedArrays(original func(string) goja.Value, define func(string, goja.Value)) error {
	lim := b.i.lim
	var tproto *goja.Object
	for _, ta := range typedArrayCtors {
		ctorVal := original(ta.name)
		orig, ok := goja.AssertConstructor(ctorVal)
		if !ok {
			return fmt.Errorf("%s is not a constructor", ta.name)
		}
		origObj := ctorVal.(*goja.Object)
		proto, ok := origObj.Get("prototype").(*goja.Object)
		if !ok {
			return fmt.Errorf("%s.prototype is not an object", ta.name)
		}
		size, buffer := ta.size, ta.name == "ArrayBuffer"
		if !buffer && tproto == nil {
			tproto = proto.Prototype()
		}
		w := b.rt.ToValue(func(cc goja.ConstructorCall) *goja.Object {
			var n int64
			switch a := cc.Argument(0).(type) {
			case *goja.Object:
				if !buffer && a.ClassName() != "ArrayBuffer" {
					n = lengthOf(a)
				}
			default:
				if f := a.ToFloat(); f > 0 && !math.IsInf(f, 0) {
					n = int64(min(f, 1<<53))
				}
			}
			if n > lim.limit/size {
				lim.reserve(-1)
			}
			lim.reserve(n * size)
			o, err := orig(cc.NewTarget, cc.Arguments...)
			if err != nil {
				panic(err)
			}
			return o
		}).(*goja.Object)
		_ = w.SetPrototype(origObj.Prototype())
		_ = w.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
		_ = w.DefineDataProperty("name", b.rt.ToValue(ta.name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		_ = w.DefineDataProperty("length", origObj.Get("length"), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		// The constructor's own statics (isView, BYTES_PER_ELEMENT,
		// fromBase64...); from and of are inherited from %TypedArray%.
		for _, k := range origObj.GetOwnPropertyNames() {
			switch k {
			case "prototype", "name", "length":
			case "BYTES_PER_ELEMENT":
				_ = w.DefineDataProperty(k, origObj.Get(k), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
			default:
				_ = w.DefineDataProperty(k, origObj.Get(k), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
			}
		}
		if err := proto.DefineDataProperty("constructor", w, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
		define(ta.name, w)
	}
	// %TypedArray%.prototype.sort, shared by every typed array.
	if tproto == nil {
		return fmt.Errorf("no %%TypedArray%%.prototype")
	}
	return b.wrap(tproto, "sort", b.sortWrapper(true))
}

// ---- regular expressions ----

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

func (b *builtins) regexps() error {
	proto, err := b.object("RegExp", "prototype")
	if err != nil {
		return err
	}
	lim := b.i.lim
	// test does not go through exec; the Symbol.match, replace, search and
	// split methods do once exec is replaced.
	for _, name := range []string{"exec", "test"} {
		if err := b.wrap(proto, name, func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
			return func(c goja.FunctionCall) goja.Value {
				lim.checkCPU()
				t := time.Now()
				v := call(orig, c.This, c.Arguments...)
				if (goja.IsNull(v) || v.StrictEquals(b.rt.ToValue(false))) && time.Since(t) >= time.Millisecond {
					if o, ok := c.This.(*goja.Object); ok && timedOut(o, c.Argument(0).String()) {
						lim.checkCPU()
						panic(b.i.newError("RegExpTimeoutError",
							fmt.Sprintf("regular expression match exceeded %v", regexpTimeout)))
					}
				}
				return v
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// timedOut tells a slow non-match of a backtracking pattern from a real
// one: goja drops regexp2's timeout error, so the match is run again on
// regexp2 directly, which reports it.
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
	re, err := regexp2.Compile(src, opts)
	if err != nil {
		return false
	}
	_, err = re.MatchString(input)
	return err != nil
}
