package isolate

import (
	"reflect"
	"strconv"
	"unsafe"

	"github.com/dop251/goja"
)

// The %TypedArray%.prototype methods that walk a whole typed array in one
// Go loop of goja's (fill, includes, indexOf, lastIndexOf, reverse,
// copyWithin, and set from another typed array) run here a chunk of
// typedChunk elements at a time, with a
// CPU check between chunks. An estimate made up front (typedNsPerElem)
// cannot bound them: the first walk over a fresh 16 MiB array faults on
// every page, and on a loaded machine `for (;;) a.fill(1)` over 2e6
// doubles ended a 50 ms turn at 62-90 ms of CPU.
//
// fill, includes, indexOf and lastIndexOf call goja's own method on each
// chunk, so what they store and what they find is goja's: fill with the
// chunk's bounds, the searches on a view of the chunk, made by the
// array's own constructor over the chunk's bytes. reverse, copyWithin
// and set from an array of the same kind move elements as they are, so
// Cloister moves them itself. Arguments
// are converted once, in goja's order, before any element is touched; the
// chunks are given only primitives, which convert without running script.

// typedChunk is how many elements a guarded typed array method handles
// between two CPU checks: about 0.2 ms of fill on the 2-core VM, more on
// a first touch of fresh pages. Arrays no longer than it run in one call.
const typedChunk = 1 << 16

// typedRecv is the typed array a guarded method was called on and its
// length, or ok false when this is not one (goja's method then throws its
// own TypeError) or is short enough to run in one call.
func typedRecv(this goja.Value) (o *goja.Object, n int64, ok bool) {
	o, n, typed := typedArray(this)
	return o, n, typed && n > typedChunk
}

// typedArray is this as a typed array, and its length.
func typedArray(this goja.Value) (*goja.Object, int64, bool) {
	o, isObj := this.(*goja.Object)
	if !isObj {
		return nil, 0, false
	}
	n, typed := typedLength(o)
	return o, n, typed
}

// typedIndex is the spec's relative index: v converted to an integer,
// counted from the end when negative, clamped to [0, n].
func typedIndex(v goja.Value, n int64) int64 {
	f := toIntegerOrInfinity(v)
	if f < 0 {
		return int64(max(float64(n)+f, 0))
	}
	return int64(min(f, float64(n)))
}

// typedFill is fill on a typed array (guardBigArrayMethod): the bounds
// are converted first and then the value, as goja does, a BigInt array's
// value with bigElement's checks; then a long array is filled a chunk at
// a time.
func (b *builtins) typedFill(orig goja.Callable, this goja.Value, args []goja.Value, big bool) goja.Value {
	o, n, typed := typedArray(this)
	if !typed {
		if big && len(args) > 0 { // a proxy of one, which goja refuses
			args = append([]goja.Value{b.bigElement(args[0])}, args[1:]...)
		}
		return call(orig, this, args...)
	}
	value, start, end := goja.Undefined(), goja.Undefined(), goja.Undefined()
	if len(args) > 0 {
		value = args[0]
	}
	if len(args) > 1 {
		start = args[1]
	}
	if len(args) > 2 {
		end = args[2]
	}
	k := typedIndex(start, n)
	final := n
	if !goja.IsUndefined(end) {
		final = typedIndex(end, n)
	}
	if big {
		value = b.bigElement(value)
	} else if v, isObj := value.(*goja.Object); isObj {
		// converted as goja's element types convert it
		if kind := o.ExportType().Elem().Kind(); kind == reflect.Float32 || kind == reflect.Float64 {
			value = b.rt.ToValue(v.ToFloat())
		} else {
			value = v.ToNumber()
		}
	}
	if final-k <= typedChunk {
		return call(orig, this, value, b.rt.ToValue(k), b.rt.ToValue(final))
	}
	for first := k; k < final; {
		b.tick()
		e := min(k+typedChunk, final)
		call(orig, this, value, b.rt.ToValue(k), b.rt.ToValue(e))
		if _, str := value.(goja.String); k == first && (big || str) {
			// goja converts a string value again on every call (a
			// BigInt's parse is quadratic): the later chunks get the
			// element the first one stored
			value = o.Get(strconv.FormatInt(first, 10))
		}
		k = e
	}
	return this
}

// typedView is a view of the elements [from, to) of the typed array o,
// made by o's own constructor, or nil when o's constructor cannot be
// found (then the method runs in one call, under the estimate).
func (b *builtins) typedView(o *goja.Object, from, to int64) *goja.Object {
	ctor := typedCtorOf(o)
	if ctor == nil {
		return nil
	}
	mem, size := typedBytes(o)
	ab := b.rt.NewArrayBuffer(mem[from*int64(size) : to*int64(size) : to*int64(size)])
	view, err := b.rt.New(ctor, b.rt.ToValue(ab))
	if err != nil {
		panic(err)
	}
	return view
}

// typedCtorOf is the constructor goja made the typed array o with (its
// defaultCtor), or nil when o is not one.
func typedCtorOf(o *goja.Object) *goja.Object {
	s, err := selfOf(o)
	if err != nil || s.Type() != layout.typedType {
		return nil
	}
	return *(**goja.Object)(unsafe.Add(s.UnsafePointer(), layout.typedCtor))
}

// guardTypedSearch guards includes, indexOf and lastIndexOf: on a long
// typed array goja's method searches one chunk's view at a time.
func guardTypedSearch(name string) func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(c goja.FunctionCall) goja.Value {
			o, n, ok := typedRecv(c.This)
			if !ok || typedCtorOf(o) == nil {
				b.needTypedLoop(c.This)
				return call(orig, c.This, c.Arguments...)
			}
			x := c.Argument(0)
			if name == "lastIndexOf" {
				return b.typedLastIndexOf(orig, o, n, x, c.Arguments)
			}
			from := toIntegerOrInfinity(c.Argument(1)) // as goja: ToInteger, then clamp
			if from >= float64(n) {
				return b.notFound(name)
			}
			k := int64(0)
			if from < 0 {
				k = int64(max(float64(n)+from, 0))
			} else {
				k = int64(from)
			}
			for ; k < n; k += typedChunk {
				b.tick()
				e := min(k+typedChunk, n)
				r := call(orig, b.typedView(o, k, e), x)
				if name == "includes" {
					if r.ToBoolean() {
						return r
					}
				} else if i := r.ToInteger(); i >= 0 {
					return b.rt.ToValue(k + i)
				}
			}
			return b.notFound(name)
		}
	}
}

// notFound is what the search name returns when nothing matches.
func (b *builtins) notFound(name string) goja.Value {
	if name == "includes" {
		return b.rt.ToValue(false)
	}
	return b.rt.ToValue(-1)
}

// typedLastIndexOf is lastIndexOf over the chunks from the last one
// down: goja's own method on each chunk's view, as it would read the
// whole array.
func (b *builtins) typedLastIndexOf(orig goja.Callable, o *goja.Object, n int64, x goja.Value, args []goja.Value) goja.Value {
	last := n - 1
	if len(args) > 1 {
		f := toIntegerOrInfinity(args[1])
		if f >= 0 {
			last = int64(min(f, float64(n-1)))
		} else {
			last = int64(max(float64(n)+f, -1))
		}
	}
	for e := last + 1; e > 0; e -= typedChunk {
		b.tick()
		k := max(e-typedChunk, 0)
		if i := call(orig, b.typedView(o, k, e), x).ToInteger(); i >= 0 {
			return b.rt.ToValue(k + i)
		}
	}
	return b.rt.ToValue(-1)
}

// typedBytes is the memory of the typed array o's elements, and the
// size of one.
func typedBytes(o *goja.Object) ([]byte, int) {
	rv := reflect.ValueOf(o.Export())
	size := int(rv.Type().Elem().Size())
	return unsafe.Slice((*byte)(rv.UnsafePointer()), rv.Len()*size), size
}

// guardTypedReverse is reverse on a long typed array: the elements are
// swapped as they are, bits and all, with a CPU check every chunk.
func guardTypedReverse(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		o, n, ok := typedRecv(c.This)
		if !ok {
			return call(orig, c.This, c.Arguments...)
		}
		mem, size := typedBytes(o)
		p := unsafe.Pointer(unsafe.SliceData(mem))
		switch size {
		case 1:
			reverseChunked(b, mem)
		case 2:
			reverseChunked(b, unsafe.Slice((*uint16)(p), n))
		case 4:
			reverseChunked(b, unsafe.Slice((*uint32)(p), n))
		case 8:
			reverseChunked(b, unsafe.Slice((*uint64)(p), n))
		default:
			b.needTypedLoop(c.This)
			return call(orig, c.This, c.Arguments...)
		}
		return c.This
	}
}

func reverseChunked[T any](b *builtins, s []T) {
	for i, j := 0, len(s)-1; i < j; {
		b.tick()
		for stop := i + typedChunk/2; i < j && i < stop; i, j = i+1, j-1 {
			s[i], s[j] = s[j], s[i]
		}
	}
}

// guardTypedCopyWithin is copyWithin on a long typed array: target,
// start and end are converted as goja does, and min(end-start,
// length-target) elements move as by memmove, a chunk at a time in the
// direction that reads each element before it is overwritten. (goja's
// own copy can run past the end of a view into the rest of its buffer;
// this one stays inside the view, as the spec has it.)
func guardTypedCopyWithin(b *builtins, orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		o, n, ok := typedRecv(c.This)
		if !ok {
			return call(orig, c.This, c.Arguments...)
		}
		to := typedIndex(c.Argument(0), n)
		from := typedIndex(c.Argument(1), n)
		final := n
		if end := c.Argument(2); !goja.IsUndefined(end) {
			final = typedIndex(end, n)
		}
		if count := min(final-from, n-to); count > 0 {
			mem, size := typedBytes(o)
			moveChunked(b, mem[int(to)*size:int(to+count)*size], mem[int(from)*size:int(from+count)*size], typedChunk*size)
		}
		return c.This
	}
}

// moveChunked copies src to dst, which may overlap, as one memmove
// would: chunk bytes at a time, in the direction that reads each byte
// before it is overwritten.
func moveChunked(b *builtins, dst, src []byte, chunk int) {
	n := len(src)
	if uintptr(unsafe.Pointer(unsafe.SliceData(dst))) <= uintptr(unsafe.Pointer(unsafe.SliceData(src))) {
		for i := 0; i < n; i += chunk {
			b.tick()
			m := min(chunk, n-i)
			copy(dst[i:i+m], src[i:i+m])
		}
		return
	}
	for i := n; i > 0; i -= chunk {
		b.tick()
		m := min(chunk, i)
		copy(dst[i-m:i], src[i-m:i])
	}
}

// typedSet is set(source, offset) with a long typed array as its source,
// or ok false for any other call (guardBigArrayMethod then runs it as
// before). The offset is converted once; an offset or a source goja
// refuses is handed to goja, with the converted offset, to throw its own
// error. A source of the array's own kind is copied as one memmove would,
// a chunk at a time; one of another kind is converted by goja a chunk's
// view at a time, unless its memory overlaps the array's (goja orders
// that copy itself).
func (b *builtins) typedSet(orig goja.Callable, c goja.FunctionCall) (goja.Value, bool) {
	o, n, typed := typedArray(c.This)
	src, _ := c.Argument(0).(*goja.Object)
	if !typed || src == nil {
		return nil, false
	}
	m, srcTyped := typedLength(src)
	if !srcTyped || m <= typedChunk {
		return nil, false
	}
	ctor, srcCtor := typedCtorOf(o), typedCtorOf(src)
	if ctor == nil || srcCtor == nil {
		return nil, false
	}
	off := toIntegerOrInfinity(c.Argument(1))
	offset := b.rt.ToValue(off)
	if off < 0 || off+float64(m) > float64(n) || isBigTyped(o) != isBigTyped(src) {
		return call(orig, c.This, src, offset), true // goja's RangeError or TypeError
	}
	k := int(off)
	dst, size := typedBytes(o)
	from, _ := typedBytes(src)
	if ctor.SameAs(srcCtor) {
		moveChunked(b, dst[k*size:(k+int(m))*size], from, typedChunk*size)
		return goja.Undefined(), true
	}
	lo, hi := uintptr(unsafe.Pointer(unsafe.SliceData(dst))), uintptr(unsafe.Pointer(unsafe.SliceData(dst)))+uintptr(len(dst))
	slo, shi := uintptr(unsafe.Pointer(unsafe.SliceData(from))), uintptr(unsafe.Pointer(unsafe.SliceData(from)))+uintptr(len(from))
	if slo < hi && lo < shi {
		b.needTypedLoop(src)
		return call(orig, c.This, src, offset), true
	}
	for i := int64(0); i < m; i += typedChunk {
		b.tick()
		e := min(i+typedChunk, m)
		call(orig, c.This, b.typedView(src, i, e), b.rt.ToValue(int64(k)+i))
	}
	return goja.Undefined(), true
}

var _ = func() int {
	for _, name := range []string{"includes", "indexOf", "lastIndexOf"} {
		templateGuards = append(templateGuards,
			templateGuard{object: "%TypedArray%.prototype", name: name, make: method(guardTypedSearch(name))})
	}
	templateGuards = append(templateGuards,
		templateGuard{object: "%TypedArray%.prototype", name: "reverse", make: method(guardTypedReverse)},
		templateGuard{object: "%TypedArray%.prototype", name: "copyWithin", make: method(guardTypedCopyWithin)})
	return 0
}()
