package isolate

/*
The message codec: how a JS value becomes the bytes of a message and back.

Every message that crosses an isolate boundary is copied, never shared: the
sender's value is walked and written as MessagePack, and the receiver gets
fresh values built from those bytes in its own runtime. Changing either
side afterwards changes nothing on the other.

# Data model

What can be sent, its MessagePack form, and what arrives:

  - null: nil; arrives as null.
  - undefined: extension type 1 with an empty payload; arrives as undefined,
    distinct from null, also as a property value or an array element.
  - true, false: bool.
  - A string: str, UTF-8; arrives as an equal string. Characters outside the
    BMP (emoji) arrive exactly. A lone UTF-16 surrogate, which a JS string
    can hold and UTF-8 cannot, arrives as U+FFFD.
  - A number that is an integer with |n| <= 2^53-1 and not -0: the smallest
    int that holds it. Any other number (fractions, -0, NaN, ±Infinity,
    |n| >= 2^53): float64. Either way the same number arrives; -0, NaN and
    ±Infinity survive (Object.is holds).
  - BigInt: refused.
  - A Uint8Array or Uint8ClampedArray: bin, holding only the bytes of the
    view (byteOffset and byteLength are respected); arrives as a Uint8Array
    over a fresh ArrayBuffer of exactly those bytes. Other typed arrays,
    ArrayBuffer and DataView are refused.
  - A Date: extension type 3, the time value (milliseconds since the epoch)
    as a big-endian float64; arrives as a new Date with the same time value.
    An invalid Date stays invalid (NaN).
  - An Array: array of its elements 0..length-1; arrives as a new Array of
    the same length. Holes arrive as undefined; properties that are not
    indices are not sent.
  - Any other ordinary object (a plain object, a class instance, an object
    with a null prototype): map of its own enumerable string-keyed
    properties, in property order. It arrives as a new plain object
    (prototype Object.prototype) in which each property is an own writable,
    enumerable, configurable data property, even one named "__proto__",
    which therefore never changes the receiver's prototype. Prototypes and
    methods stay behind, as with structuredClone.
  - An Error (or subclass instance): map of name, message and its other own
    enumerable properties; arrives as a plain object. The stack stays behind.
  - A capability handle (the onCap callback of encodeValue says which objects
    are): extension type 2, a big-endian uint32 index into the envelope's
    capabilities; arrives as the receiver's handle for it.

Properties are read with ordinary JS property reads, so getters run, and a
getter that throws fails the send. Symbol-keyed and non-enumerable
properties are skipped, and so is a property that a getter deleted during
the walk or whose name holds a lone surrogate (it cannot be read back by
its UTF-8 name). An object referenced twice (a DAG) is copied twice.

Refused, with a *CloneError that says where in the value and what
("cannot send msg.a[3].b: function"): functions and classes, symbols,
BigInt, Map, Set, WeakMap, WeakSet, WeakRef, Promise, RegExp, ArrayBuffer,
DataView, typed arrays other than Uint8Array and Uint8ClampedArray, Proxy
objects, boxed primitives (new Number(1)), arguments objects, iterators and
generators, host objects other than capability handles, a cycle (an object
that contains itself on the current path), more than MaxDepth nested
objects and arrays, an encoding larger than MaxBytes, and a message that
would take the receiver more than MaxHeap bytes of JS values to build. The
walk stops at the first problem, so a value that grows without bound (a
getter minting new objects, a DAG doubling at every level) fails as soon as
it passes a limit. Nothing partial is ever returned.

# Expansion

One byte of a message can become hundreds of bytes of goja heap in the
receiver: an empty array is 1 byte of MessagePack and ~580 bytes of goja
objects, and since shared references are copied, a sender can send a
million references to one empty array in a 1 MiB message at little cost to
itself. Both sides therefore tally the same estimate of the heap the
receiver builds (the heapCost constants: about 190 bytes per object plus
290 for its first property and 16 per property, 580 per array plus 16 per
element, and string and byte lengths) and refuse a message over MaxHeap
(default 64 MiB). A message that encodeValue accepts is within the budget
of a decodeValue with the same limits, so a sender cannot make a receiver
fail to decode.

# Decoding

decodeValue accepts any MessagePack value made of the forms above and, for
peers that are not JS, also map keys that are not strings (nil, booleans
and numbers become their JS string form: 1 becomes "1"), float32, integers
beyond 2^53 (they become the nearest float64), and the standard timestamp
extension (-1), which becomes a Date (millisecond precision). Invalid UTF-8
in a string becomes U+FFFD. Of duplicate keys the last one wins.

Unknown extension types, malformed or truncated input, bytes after the
value, more than MaxDepth nested maps and arrays, input longer than
MaxBytes and an estimated heap over MaxHeap are errors wrapping
errMalformedMessage. Decoding never panics, and what it allocates before
reading further input is bounded by the bytes that remain: a header that
claims 2^32 elements in a 10-byte message fails at once.

The decoder reads the bytes itself and builds most values without going
through goja's public constructors: a plain object or an array is one
allocation holding the goja object, its implementation and a short
property list or element slice (codec_object.go, codec_array.go), keys
and short strings that messages repeat come from a fixed-size table
(codec_intern.go), and small integers from shared values. Each reach into
goja's private layout is checked against goja's own constructors on first
use and falls back to them if anything differs. None of this changes what
is charged: the heap estimate above is computed from the message alone.

A Date or Uint8Array is built with the constructor bound to the global
Date or Uint8Array of the receiving runtime: goja offers no other way from
Go, and capturing the intrinsics before a script runs would make every
isolate materialise the typed-array builtins (~10 KB). A script that
replaced those globals has its replacement called while a message to it is
decoded; the result is checked to be a genuine Date with the sent time
value, or a genuine Uint8Array over the fresh copy, and anything else fails
the decode. A script can harm only itself this way.
*/

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cloister-rt/cloister/codec"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// MessagePack extension types of the message format, defined in package codec.
const (
	extUndefined  = codec.ExtUndefined  // JS undefined; zero-length payload
	extCapability = codec.ExtCapability // a capability: big-endian uint32 index into the envelope's capabilities
	extDate       = codec.ExtDate       // a Date: big-endian float64 milliseconds since the epoch (NaN if invalid)
	extTimestamp  = codec.ExtTimestamp  // the standard msgpack timestamp; accepted on decode only
)

// Default limits of one message.
const (
	defaultMaxMessageBytes = 1 << 20
	defaultMaxMessageDepth = 64
	defaultMaxMessageHeap  = codec.MaxReceiverHeap
)

// The estimate of the goja heap a decoded message takes, measured with goja
// v0.0.0-20260917113740 on amd64; a value's slot in its array or object is
// charged to the container.
const (
	heapCostObject    = codec.HeapCostObject
	heapCostFirstProp = codec.HeapCostFirstProp
	heapCostProp      = codec.HeapCostProp
	heapCostArray     = codec.HeapCostArray
	heapCostElem      = codec.HeapCostElem
	heapCostString    = codec.HeapCostString
	heapCostBytes     = codec.HeapCostBytes
	heapCostDate      = codec.HeapCostDate
	heapCostCap       = codec.HeapCostCap
)

// maxSafeInteger is Number.MAX_SAFE_INTEGER.
const maxSafeInteger = 1<<53 - 1

// codecLimits bounds one message.
type codecLimits struct {
	MaxBytes int // encoded size limit; encoding stops early with an error once exceeded (0 = default 1 MiB)
	MaxDepth int // nesting limit of objects/arrays (0 = default 64)
	MaxHeap  int // estimated bytes of JS values the receiver builds (0 = default 64 MiB); see the package comment
}

func (l codecLimits) withDefaults() codecLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxMessageBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxMessageDepth
	}
	if l.MaxHeap <= 0 {
		l.MaxHeap = defaultMaxMessageHeap
	}
	return l
}

// CloneError says why a value cannot be sent; Path is where in the value
// ("msg.a[3].b").
type CloneError struct {
	Path   string
	Reason string
	Limit  string // the limit the message broke (message_bytes, message_heap, message_depth), if any
	err    error  // the exception a getter threw, if that is the reason
}

func (e *CloneError) Error() string { return "cannot send " + e.Path + ": " + e.Reason }

// Unwrap returns the JS exception a getter threw, or nil.
func (e *CloneError) Unwrap() error { return e.err }

// errMalformedMessage is wrapped by every decoding error.
var errMalformedMessage = errors.New("malformed message")

// pathRoot names the whole value in error paths.
const pathRoot = "msg"

// pathSeg is one step of a path: a property name, or an index if key is
// unset and idx >= 0.
type pathSeg struct {
	key string
	idx int
}

func formatValuePath(segs []pathSeg) string {
	var b strings.Builder
	b.WriteString(pathRoot)
	for _, s := range segs {
		if s.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.idx))
			b.WriteByte(']')
			continue
		}
		k := s.key
		if len(k) > 64 {
			k = k[:64] + "…"
		}
		if isPathIdentifier(k) {
			b.WriteByte('.')
			b.WriteString(k)
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Quote(k))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func isPathIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// ---------------------------------------------------------------------------
// What kind of object a value is.

// objKind is how an object is sent.
type objKind uint8

const (
	objRefused    objKind = iota // not sendable; objInfo.name says what it is
	objPlain                     // own enumerable properties -> map
	objArray                     // elements -> array
	objError                     // {name, message, ...own enumerable} -> map
	objDate                      // -> extDate
	objTypedArray                // Uint8Array/Uint8ClampedArray -> bin; others refused by element type
)

type objInfo struct {
	t    reflect.Type // the concrete goja type behind the object
	kind objKind
	name string // what a refused object is, for the error
}

// objectKinds is the table of goja object types, built on first use.
//
// goja does not export its object classes, and the public API cannot tell a
// WeakMap or a generator from a plain object (both report class "Object"
// and export as a map), while instanceof and Symbol.toStringTag can be faked
// by a script. The exact brand is the dynamic type behind the object's
// unexported self field; the table maps each type to a kind by probing a
// private runtime with one example of each. TestCodec_ObjectKinds fails if a
// goja upgrade changes this.
var objectKinds = sync.OnceValue(probeObjectKinds)

// typedArrayNames maps a typed array's ExportType to its constructor name.
var typedArrayNames = sync.OnceValue(probeTypedArrayNames)

var selfField = func() int {
	f, ok := reflect.TypeOf(goja.Object{}).FieldByName("self")
	if !ok || f.Type.Kind() != reflect.Interface {
		return -1
	}
	return f.Index[0]
}()

// gojaImplType returns the concrete goja type behind o, or nil.
func gojaImplType(o *goja.Object) reflect.Type {
	if selfField < 0 {
		return nil
	}
	f := reflect.ValueOf(o).Elem().Field(selfField)
	if f.IsNil() {
		return nil
	}
	return f.Elem().Type()
}

var objectKindProbes = []struct {
	kind objKind
	name string
	src  string
}{
	{objPlain, "", `({})`},
	{objArray, "", `[]`},
	{objArray, "", `(a => (a[1e6] = 0, a))([])`}, // goja's sparse representation
	{objError, "", `new Error()`},
	{objDate, "", `new Date(0)`},
	{objTypedArray, "", `new Uint8Array(0)`},
	{objRefused, "function", `function () {}`},
	{objRefused, "function", `() => {}`},
	{objRefused, "function", `async function () {}`},
	{objRefused, "function", `async () => {}`},
	{objRefused, "function", `function* () {}`},
	{objRefused, "function", `async function* () {}`},
	{objRefused, "function", `({ m() {} }).m`},
	{objRefused, "function", `class {}`},
	{objRefused, "function", `Math.max`},
	{objRefused, "function", `Object`},
	{objRefused, "function", `(function () {}).bind(null)`},
	{objRefused, "Proxy", `new Proxy({}, {})`},
	{objRefused, "Proxy", `new Proxy(function () {}, {})`},
	{objRefused, "Map (send an array of entries or an object instead)", `new Map()`},
	{objRefused, "Set (send an array instead)", `new Set()`},
	{objRefused, "WeakMap", `new WeakMap()`},
	{objRefused, "WeakSet", `new WeakSet()`},
	{objRefused, "Promise", `Promise.resolve()`},
	{objRefused, "RegExp", `/x/`},
	{objRefused, "ArrayBuffer (send a Uint8Array instead)", `new ArrayBuffer(0)`},
	{objRefused, "DataView", `new DataView(new ArrayBuffer(0))`},
	{objRefused, "boxed primitive", `new Number(0)`},
	{objRefused, "boxed primitive", `new String("")`},
	{objRefused, "boxed primitive", `new Boolean(false)`},
	{objRefused, "boxed primitive", `Object(Symbol())`},
	{objRefused, "boxed primitive", `Object(0n)`},
	{objRefused, "arguments object", `(function () { return arguments })()`},
	{objRefused, "generator", `(function* () {})()`},
	{objRefused, "generator", `(async function* () {})()`},
	{objRefused, "iterator", `[][Symbol.iterator]()`},
	{objRefused, "iterator", `new Map().keys()`},
	{objRefused, "iterator", `new Set().values()`},
	{objRefused, "iterator", `""[Symbol.iterator]()`},
	{objRefused, "iterator", `"a".matchAll(/a/g)`},
	{objRefused, "WeakRef", `new WeakRef({})`},
	{objRefused, "FinalizationRegistry", `new FinalizationRegistry(() => {})`},
}

// hostObjectProbe and hostArrayProbe stand for host objects in the probe.
type (
	hostObjectProbe struct{}
	hostArrayProbe  struct{}
)

func (hostObjectProbe) Get(string) goja.Value       { return nil }
func (hostObjectProbe) Set(string, goja.Value) bool { return false }
func (hostObjectProbe) Has(string) bool             { return false }
func (hostObjectProbe) Delete(string) bool          { return false }
func (hostObjectProbe) Keys() []string              { return nil }
func (hostArrayProbe) Len() int                     { return 0 }
func (hostArrayProbe) Get(int) goja.Value           { return nil }
func (hostArrayProbe) Set(int, goja.Value) bool     { return false }
func (hostArrayProbe) SetLen(int) bool              { return false }

func probeObjectKinds() []objInfo {
	r := goja.New()
	var kinds []objInfo
	add := func(v goja.Value, kind objKind, name string) {
		o, ok := v.(*goja.Object)
		if !ok {
			return
		}
		t := gojaImplType(o)
		if t == nil {
			return
		}
		for _, k := range kinds {
			if k.t == t {
				return // the first probe of a type decides; plain and array come first
			}
		}
		kinds = append(kinds, objInfo{t: t, kind: kind, name: name})
	}
	for _, p := range objectKindProbes {
		v, err := r.RunString("(" + p.src + ")")
		if err != nil {
			continue // not supported by this goja version
		}
		add(v, p.kind, p.name)
	}
	add(r.NewDynamicObject(hostObjectProbe{}), objRefused, "host object")
	add(r.NewDynamicArray(hostArrayProbe{}), objRefused, "host object")
	return kinds
}

type typedArrayName struct {
	t    reflect.Type
	name string
}

func probeTypedArrayNames() []typedArrayName {
	r := goja.New()
	var names []typedArrayName
	for _, n := range []string{"Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array",
		"Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Float16Array"} {
		v, err := r.RunString("new " + n + "(0)")
		if err != nil {
			continue
		}
		names = append(names, typedArrayName{t: v.ExportType(), name: n})
	}
	return names
}

// classifyObject says how o is sent; for a refused object, name says what it is.
func classifyObject(o *goja.Object) (kind objKind, name string) {
	t := gojaImplType(o)
	for _, k := range objectKinds() {
		if k.t == t {
			if k.kind == objTypedArray && o.ExportType() != exportBytes {
				return objRefused, typedArrayKind(o.ExportType())
			}
			return k.kind, k.name
		}
	}
	if _, ok := goja.AssertFunction(o); ok {
		return objRefused, "function"
	}
	return objRefused, "unsupported object"
}

func typedArrayKind(t reflect.Type) string {
	for _, n := range typedArrayNames() {
		if n.t == t {
			return n.name + " (only Uint8Array is supported)"
		}
	}
	return "typed array (only Uint8Array is supported)"
}

var (
	exportBytes   = reflect.TypeOf([]byte(nil))
	exportInt64   = reflect.TypeOf(int64(0))
	exportFloat64 = reflect.TypeOf(float64(0))
	exportBool    = reflect.TypeOf(false)
)

// arrayIndexNames holds the property names of the first array indices, so that
// walking an array does not allocate one per element.
var arrayIndexNames = sync.OnceValue(func() []string {
	s := make([]string, 1024)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
})

func arrayIndexName(i int) string {
	if names := arrayIndexNames(); i < len(names) {
		return names[i]
	}
	return strconv.Itoa(i)
}

// ---------------------------------------------------------------------------
// Encoding.

// msgEncoder is the state of one encodeValue call; pooled.
type msgEncoder struct {
	buf      []byte // the encoding so far
	maxBytes int
	maxDepth int
	maxHeap  int
	heap     int // the receiver's estimated heap so far
	onCap    func(o *goja.Object) (uint32, bool)
	stack    []*goja.Object // the objects on the current path, for cycle detection
	keys     []string       // the keys of the objects on the current path, when read by plainKeys
	vals     []goja.Value   // beside keys: each one's value as plainKeys read it, nil if it is not plain data
	gets     int            // calls that may have run script code (a getter) so far; see props
	path     []pathSeg
	r        *goja.Runtime
	// The one call into goja that may run script code, made by call under
	// Runtime.Try: callObj.Get(callKey), or callObj.Keys() if callKeys.
	callObj  *goja.Object
	callKey  string
	callKeys bool
	callOut  goja.Value
	callList []string
	callFn   func() // e.call, bound once
	maker    *plainObjectMaker
	arrays   *arrayMaker
	general  bool // read every object through goja's public API (tests compare the two ways)
}

// maxPooledBuffer is the largest buffer the pool keeps.
const maxPooledBuffer = 64 << 10

var msgEncoderPool = sync.Pool{New: func() any {
	e := &msgEncoder{}
	e.callFn = e.call
	e.maker, _ = plainMaker()
	e.arrays, _ = arrMaker()
	return e
}}

// encodeValue walks v and writes msgpack. onCap is asked about every object first: if it returns ok, the object is a
// capability handle and is written as extension type extCapability with payload = the big-endian uint32 index returned.
// Errors are *CloneError.
func encodeValue(r *goja.Runtime, v goja.Value, lim codecLimits, onCap func(o *goja.Object) (index uint32, ok bool)) ([]byte, error) {
	e, err := encodePooled(r, v, lim, onCap)
	var out []byte
	if err == nil {
		out = bytes.Clone(e.buf)
	}
	e.release()
	return out, err
}

// encodePooled is encodeValue leaving the bytes in e.buf, which the caller
// copies before it calls e.release (after which the pool reuses them).
func encodePooled(r *goja.Runtime, v goja.Value, lim codecLimits, onCap func(o *goja.Object) (index uint32, ok bool)) (e *msgEncoder, err error) {
	return encodeWith(r, v, lim, onCap, false)
}

// encodeWith is encodePooled; general reads every object through goja's
// public API, as the tests' reference.
//
// Only get and keysOf call into goja in a way that can run script code (a
// getter), and they do it under Runtime.Try; the rest of the walk reads
// values that run nothing. So a message of plain data, most of them, is
// encoded without the try frame and deferred recover a Try costs.
func encodeWith(r *goja.Runtime, v goja.Value, lim codecLimits, onCap func(o *goja.Object) (index uint32, ok bool), general bool) (e *msgEncoder, err error) {
	lim = lim.withDefaults()
	e = msgEncoderPool.Get().(*msgEncoder)
	e.maxBytes, e.maxDepth, e.maxHeap, e.heap, e.onCap, e.r, e.general = lim.MaxBytes, lim.MaxDepth, lim.MaxHeap, 0, onCap, r, general
	err = e.value(v)
	if err == nil && len(e.buf) > e.maxBytes {
		err = e.tooBig()
	}
	return e, err
}

// get returns o.Get(k). A getter may run: what it throws is the encoding's
// error, and the values props read ahead are stale from then on.
func (e *msgEncoder) get(o *goja.Object, k string) (goja.Value, error) {
	e.gets++
	e.callObj, e.callKey, e.callKeys = o, k, false
	err := e.try()
	v := e.callOut
	e.callObj, e.callOut = nil, nil
	return v, err
}

// keysOf returns o.Keys(), as get does.
func (e *msgEncoder) keysOf(o *goja.Object) ([]string, error) {
	e.gets++
	e.callObj, e.callKeys = o, true
	err := e.try()
	keys := e.callList
	e.callObj, e.callList = nil, nil
	return keys, err
}

func (e *msgEncoder) try() error {
	if ex := e.r.Try(e.callFn); ex != nil {
		return &CloneError{Path: formatValuePath(e.path), Reason: "a getter threw: " + thrownMessage(e.r, ex), err: ex}
	}
	return nil
}

func (e *msgEncoder) call() {
	if e.callKeys {
		e.callList = e.callObj.Keys()
		return
	}
	e.callOut = e.callObj.Get(e.callKey)
}

func (e *msgEncoder) release() {
	clear(e.stack)
	e.stack = e.stack[:0]
	clear(e.keys[:cap(e.keys)]) // objects leave theirs past the end, and a thrown getter before it
	e.keys = e.keys[:0]
	clear(e.vals[:cap(e.vals)])
	e.vals = e.vals[:0]
	e.path = e.path[:0]
	e.onCap, e.general, e.r = nil, false, nil
	e.callObj, e.callOut, e.callList = nil, nil, nil
	if cap(e.buf) > maxPooledBuffer {
		return
	}
	e.buf = e.buf[:0]
	msgEncoderPool.Put(e)
}

// thrownMessage describes an exception without running more JS than reading
// an error's message property.
func thrownMessage(r *goja.Runtime, ex *goja.Exception) string {
	v := ex.Value()
	o, ok := v.(*goja.Object)
	if !ok {
		if v == nil {
			return "undefined"
		}
		return clipMessage(v.String())
	}
	msg := "exception"
	r.Try(func() {
		if m := o.Get("message"); m != nil && goja.IsString(m) {
			msg = clipMessage(m.String())
		}
	})
	return msg
}

// clipMessage bounds an exception message quoted in an error.
func clipMessage(s string) string {
	if len(s) <= 200 {
		return s
	}
	return strings.ToValidUTF8(s[:200], "") + "…"
}

func (e *msgEncoder) fail(reason string) error {
	return &CloneError{Path: formatValuePath(e.path), Reason: reason}
}

func (e *msgEncoder) tooBig() error {
	err := e.fail(fmt.Sprintf("message larger than %d bytes", e.maxBytes))
	err.(*CloneError).Limit = "message_bytes"
	return err
}

// charge adds c to the receiver's estimated heap.
func (e *msgEncoder) charge(c int) error {
	e.heap += c
	if e.heap > e.maxHeap || c < 0 {
		err := e.fail(fmt.Sprintf("message would take the receiver more than %d bytes of JS values", e.maxHeap))
		err.(*CloneError).Limit = "message_heap"
		return err
	}
	return nil
}

// value writes v.
func (e *msgEncoder) value(v goja.Value) error {
	if len(e.buf) > e.maxBytes {
		return e.tooBig()
	}
	switch x := v.(type) {
	case nil:
		e.buf = appendExtHeader(e.buf, extUndefined, 0)
		return nil
	case *goja.Object:
		return e.object(x)
	case goja.String:
		s := x.String() // lone surrogates become U+FFFD
		if len(e.buf)+len(s) > e.maxBytes {
			return e.tooBig()
		}
		if err := e.charge(heapCostString + len(s)); err != nil {
			return err
		}
		e.buf = appendString(e.buf, s)
		return nil
	case *goja.Symbol:
		return e.fail("symbol")
	}
	switch v.ExportType() {
	case exportInt64:
		n := v.ToInteger()
		if n >= -maxSafeInteger && n <= maxSafeInteger {
			e.buf = appendInt(e.buf, n)
		} else {
			e.buf = appendFloat64(e.buf, float64(n))
		}
		return nil
	case exportFloat64:
		e.number(v.ToFloat())
		return nil
	case exportBool:
		e.buf = appendBool(e.buf, v.ToBoolean())
		return nil
	}
	switch {
	case goja.IsUndefined(v):
		e.buf = appendExtHeader(e.buf, extUndefined, 0)
	case goja.IsNull(v):
		e.buf = append(e.buf, msgpcode.Nil)
	case goja.IsBigInt(v):
		return e.fail("BigInt")
	default:
		return e.fail("unsupported value")
	}
	return nil
}

func (e *msgEncoder) number(f float64) {
	if f == math.Trunc(f) && f >= -maxSafeInteger && f <= maxSafeInteger && (f != 0 || !math.Signbit(f)) {
		e.buf = appendInt(e.buf, int64(f))
		return
	}
	e.buf = appendFloat64(e.buf, f)
}

func (e *msgEncoder) object(o *goja.Object) error {
	if e.onCap != nil {
		if idx, ok := e.onCap(o); ok {
			if err := e.charge(heapCostCap); err != nil {
				return err
			}
			e.buf = binary.BigEndian.AppendUint32(appendExtHeader(e.buf, extCapability, 4), idx)
			return nil
		}
	}
	var self unsafe.Pointer
	if !e.general {
		self = plainSelf(e.maker, o)
	}
	kind, name := objPlain, ""
	if self == nil {
		kind, name = classifyObject(o)
	}
	switch kind {
	case objDate:
		if err := e.charge(heapCostDate); err != nil {
			return err
		}
		ms := math.NaN()
		if t, ok := o.Export().(time.Time); ok {
			ms = float64(t.UnixMilli())
		}
		e.buf = binary.BigEndian.AppendUint64(appendExtHeader(e.buf, extDate, 8), math.Float64bits(ms))
		return nil
	case objTypedArray:
		b, _ := o.Export().([]byte) // the view's bytes, not a copy
		if len(e.buf)+len(b) > e.maxBytes {
			return e.tooBig()
		}
		if err := e.charge(heapCostBytes + len(b)); err != nil {
			return err
		}
		e.buf = append(appendBytesLen(e.buf, len(b)), b...)
		return nil
	case objPlain, objArray, objError:
	default:
		return e.fail(name)
	}

	if len(e.stack) >= e.maxDepth {
		return e.fail(fmt.Sprintf("nested deeper than %d levels", e.maxDepth))
	}
	for _, p := range e.stack {
		if p == o {
			return e.fail("cyclic reference (an object that contains itself)")
		}
	}
	e.stack = append(e.stack, o)
	var err error
	switch kind {
	case objArray:
		err = e.array(o)
	case objError:
		keys := []string{"name", "message"}
		var own []string
		if own, err = e.keysOf(o); err != nil {
			break
		}
		for _, k := range own {
			if k != "name" && k != "message" {
				keys = append(keys, k)
			}
		}
		err = e.props(o, keys, nil, nil, 0)
	default:
		start := len(e.keys)
		var values map[unistring.String]goja.Value
		ok := false
		if self != nil {
			e.keys, e.vals, values, ok = plainKeysOf(self, e.keys, e.vals)
		}
		if ok {
			end := len(e.keys)
			err = e.props(o, e.keys[start:end:end], e.vals[start:end:end], values, e.gets)
			e.keys = e.keys[:start] // cleared by release
			e.vals = e.vals[:start]
		} else {
			var keys []string
			if keys, err = e.keysOf(o); err == nil {
				err = e.props(o, keys, nil, nil, 0)
			}
		}
	}
	e.stack[len(e.stack)-1] = nil
	e.stack = e.stack[:len(e.stack)-1]
	return err
}

// props writes the properties keys of o. If plainKeys listed keys, values
// is o's property map and vals what plainKeys read from it for each key,
// as it was when e.gets was seen: until the encoder calls something that
// may run a getter, no script code has run and o's properties are still
// those, so a value read then is used without a second lookup; after, each
// is looked up again, as a getter may have changed o.
func (e *msgEncoder) props(o *goja.Object, keys []string, vals []goja.Value, values map[unistring.String]goja.Value, seen int) error {
	if err := e.charge(heapCostObject); err != nil {
		return err
	}
	start := len(e.buf)
	e.buf = appendMapLen(e.buf, len(keys))
	n := 0
	for i, k := range keys {
		e.path = append(e.path, pathSeg{key: k, idx: -1})
		var v goja.Value
		if values != nil {
			if e.gets == seen {
				v = vals[i]
			} else {
				v = plainValue(values, k)
			}
		}
		if v == nil {
			var err error
			if v, err = e.get(o, k); err != nil {
				return err
			}
		}
		if v == nil {
			e.path = e.path[:len(e.path)-1]
			continue // deleted by a getter, or unreachable by its UTF-8 name
		}
		if len(e.buf)+len(k) > e.maxBytes {
			return e.tooBig()
		}
		c := heapCostProp + len(k)
		if n == 0 {
			c += heapCostFirstProp
		}
		if err := e.charge(c); err != nil {
			return err
		}
		e.buf = appendString(e.buf, k)
		if err := e.value(v); err != nil {
			return err
		}
		e.path = e.path[:len(e.path)-1]
		n++
	}
	if n != len(keys) {
		patchMapLen(e.buf[start:], n)
	}
	return nil
}

// patchMapLen rewrites the length of the map header at b to n, smaller than
// the length written, keeping the header's width.
func patchMapLen(b []byte, n int) {
	switch c := b[0]; {
	case msgpcode.IsFixedMap(c):
		b[0] = msgpcode.FixedMapLow | byte(n)
	case c == msgpcode.Map16:
		binary.BigEndian.PutUint16(b[1:], uint16(n))
	case c == msgpcode.Map32:
		binary.BigEndian.PutUint32(b[1:], uint32(n))
	}
}

func (e *msgEncoder) array(o *goja.Object) error {
	n, ok := -1, false
	if !e.general {
		n, ok = arrayLen(e.arrays, o)
	}
	if !ok {
		l, err := e.get(o, "length")
		if err != nil {
			return err
		}
		n = int(l.ToInteger())
	}
	if err := e.charge(heapCostArray + heapCostElem*n); err != nil {
		return err
	}
	e.buf = appendArrayLen(e.buf, n)
	for i := 0; i < n; i++ {
		e.path = append(e.path, pathSeg{idx: i})
		var v goja.Value
		if !e.general {
			v = arrayElem(e.arrays, o, i)
		}
		if v == nil {
			var err error
			if v, err = e.get(o, arrayIndexName(i)); err != nil {
				return err
			}
		}
		if v == nil {
			v = goja.Undefined() // a hole
		}
		if err := e.value(v); err != nil {
			return err
		}
		e.path = e.path[:len(e.path)-1]
	}
	return nil
}

// ---------------------------------------------------------------------------
// Decoding.

// msgDecoder is the state of one decodeValue call; pooled. It reads the
// MessagePack straight from the message's bytes.
type msgDecoder struct {
	r        *goja.Runtime
	data     []byte // the message
	off      int    // the next byte to read
	maxDepth int
	depth    int
	maxHeap  int
	heap     int // estimated heap built so far
	capAt    func(index uint32) (goja.Value, error)
	items    []any // elements of the arrays being decoded, as a stack
	path     []pathSeg
	maker    *plainObjectMaker // nil if goja's layout is not the one known
	arrays   *arrayMaker       // nil if goja's layout is not the one known
	intern   internTable
}

var msgDecoderPool = sync.Pool{New: func() any {
	d := &msgDecoder{}
	d.maker, _ = plainMaker()
	d.arrays, _ = arrMaker()
	return d
}}

// decodeValue builds fresh goja values from data. capAt turns an extCapability index into the JS handle (it returns an error for an index out of range).
func decodeValue(r *goja.Runtime, data []byte, lim codecLimits, capAt func(index uint32) (goja.Value, error)) (goja.Value, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errMalformedMessage, len(data), lim.MaxBytes)
	}
	d := msgDecoderPool.Get().(*msgDecoder)
	d.r, d.maxDepth, d.maxHeap, d.heap, d.capAt = r, lim.MaxDepth, lim.MaxHeap, 0, capAt
	d.data, d.off = data, 0
	v, err := d.value()
	if err == nil && d.left() > 0 {
		err = d.fail("%d trailing bytes after the value", d.left())
	}
	d.release()
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (d *msgDecoder) release() {
	d.r, d.capAt = nil, nil
	d.data, d.off = nil, 0
	d.depth = 0
	d.path = d.path[:0]
	clear(d.items)
	d.items = d.items[:0]
	if cap(d.items) > 4096 {
		d.items = nil
	}
	msgDecoderPool.Put(d)
}

func (d *msgDecoder) fail(format string, args ...any) error {
	return fmt.Errorf("%w at %s: %s", errMalformedMessage, formatValuePath(d.path), fmt.Sprintf(format, args...))
}

func (d *msgDecoder) truncated() error { return d.fail("truncated") }

// charge adds c to the estimated heap built.
func (d *msgDecoder) charge(c int) error {
	d.heap += c
	if d.heap > d.maxHeap || c < 0 {
		return d.fail("message would take more than %d bytes of JS values", d.maxHeap)
	}
	return nil
}

// left is the number of bytes not read yet.
func (d *msgDecoder) left() int { return len(d.data) - d.off }

// peek returns the next byte without reading it.
func (d *msgDecoder) peek() (byte, error) {
	if d.off >= len(d.data) {
		return 0, d.truncated()
	}
	return d.data[d.off], nil
}

// take reads the next n bytes; the slice is the message's own.
func (d *msgDecoder) take(n uint64) ([]byte, error) {
	if n > uint64(d.left()) {
		return nil, d.truncated()
	}
	b := d.data[d.off : d.off+int(n)]
	d.off += int(n)
	return b, nil
}

// uintN reads a big-endian unsigned integer of size bytes (1, 2, 4 or 8).
func (d *msgDecoder) uintN(size int) (uint64, error) {
	b, err := d.take(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// lenOf reads the length after the str, bin, array or map code c: in c
// itself for the fixed form (codes fixLow to fixLow+fixLen-1), then 8 bits
// after code8 (0 if the type has no 8-bit form), 16 bits after code16, and
// 32 bits after any other code of the type.
func (d *msgDecoder) lenOf(c, fixLow byte, fixLen int, code8, code16 byte) (uint64, error) {
	switch {
	case c >= fixLow && int(c-fixLow) < fixLen:
		return uint64(c - fixLow), nil
	case code8 != 0 && c == code8:
		return d.uintN(1)
	case c == code16:
		return d.uintN(2)
	}
	return d.uintN(4)
}

// smallInts holds the values of the integers most messages carry, so that
// decoding them neither allocates nor goes through Runtime.ToValue; goja's
// numbers belong to no runtime.
const smallIntMin, smallIntMax = -128, 1023

var smallInts = sync.OnceValue(func() []goja.Value {
	r := goja.New()
	v := make([]goja.Value, smallIntMax-smallIntMin+1)
	for i := range v {
		v[i] = r.ToValue(int64(i + smallIntMin))
	}
	return v
})

var (
	valueTrue  = goja.New().ToValue(true)
	valueFalse = goja.New().ToValue(false)
)

func (d *msgDecoder) int(n int64) goja.Value {
	if n >= smallIntMin && n <= smallIntMax {
		return smallInts()[n-smallIntMin]
	}
	return intValue(d.r, n) // beyond 2^53 goja makes it a float
}

func (d *msgDecoder) value() (goja.Value, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= msgpcode.PosFixedNumHigh:
		d.off++
		return d.int(int64(c)), nil
	case c >= msgpcode.NegFixedNumLow:
		d.off++
		return d.int(int64(int8(c))), nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return d.object()
	case msgpcode.IsString(c):
		return d.stringValue()
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		return d.array()
	case c == msgpcode.Nil:
		d.off++
		return goja.Null(), nil
	case c == msgpcode.True:
		d.off++
		return valueTrue, nil
	case c == msgpcode.False:
		d.off++
		return valueFalse, nil
	case c >= msgpcode.Uint8 && c <= msgpcode.Uint64:
		d.off++
		u, err := d.uintN(1 << (c - msgpcode.Uint8))
		if err != nil {
			return nil, err
		}
		if c == msgpcode.Uint64 {
			return d.r.ToValue(u), nil
		}
		return d.int(int64(u)), nil
	case c >= msgpcode.Int8 && c <= msgpcode.Int64:
		d.off++
		size := 1 << (c - msgpcode.Int8)
		u, err := d.uintN(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size // sign-extend
		return d.int(int64(u<<shift) >> shift), nil
	case c == msgpcode.Float:
		d.off++
		u, err := d.uintN(4)
		if err != nil {
			return nil, err
		}
		return d.r.ToValue(float64(math.Float32frombits(uint32(u)))), nil
	case c == msgpcode.Double:
		d.off++
		u, err := d.uintN(8)
		if err != nil {
			return nil, err
		}
		return d.r.ToValue(math.Float64frombits(u)), nil
	case msgpcode.IsBin(c):
		return d.bytesValue()
	case msgpcode.IsExt(c):
		return d.ext()
	}
	return nil, d.fail("invalid msgpack code 0x%02x", c)
}

// readLen reads the header of a str or bin and checks that as many bytes
// remain as it says.
func (d *msgDecoder) readLen() (int, error) {
	c := d.data[d.off] // the caller peeked it
	d.off++
	var n uint64
	var err error
	if msgpcode.IsBin(c) {
		n, err = d.lenOf(c, 0, 0, msgpcode.Bin8, msgpcode.Bin16)
	} else {
		n, err = d.lenOf(c, msgpcode.FixedStrLow, 32, msgpcode.Str8, msgpcode.Str16)
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(d.left()) {
		return 0, d.truncated()
	}
	return int(n), nil
}

// readString reads n bytes as a new string, valid UTF-8.
func (d *msgDecoder) readString(n int) string {
	b, _ := d.take(uint64(n)) // n <= d.left() was checked
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func (d *msgDecoder) stringValue() (goja.Value, error) {
	n, err := d.readLen()
	if err != nil {
		return nil, err
	}
	if n > maxInternValue {
		s := d.readString(n)
		if err := d.charge(heapCostString + len(s)); err != nil {
			return nil, err
		}
		return d.r.ToValue(s), nil
	}
	b, _ := d.take(uint64(n))
	if err := d.charge(heapCostString + utf8Len(b)); err != nil {
		return nil, err
	}
	if v, ok := d.intern.str(d.r, b); ok {
		return v, nil
	}
	return d.r.ToValue(strings.ToValidUTF8(string(b), "\uFFFD")), nil
}

// utf8Len is the length of b once made valid UTF-8.
func utf8Len(b []byte) int {
	if utf8.Valid(b) {
		return len(b)
	}
	return len(strings.ToValidUTF8(string(b), "\uFFFD"))
}

func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// key reads a map key, as a Go string (valid UTF-8) and as goja's name.
// Keys that are not strings but scalars become their JS string form.
func (d *msgDecoder) key() (string, unistring.String, error) {
	c, err := d.peek()
	if err != nil {
		return "", "", err
	}
	if !msgpcode.IsString(c) {
		switch {
		case c == msgpcode.Nil, c == msgpcode.True, c == msgpcode.False, c == msgpcode.Float, c == msgpcode.Double,
			msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Uint64, c >= msgpcode.Int8 && c <= msgpcode.Int64:
			v, err := d.value()
			if err != nil {
				return "", "", err
			}
			k := v.String()
			return k, unistring.NewFromString(k), nil
		}
		return "", "", d.fail("unsupported map key (msgpack code 0x%02x)", c)
	}
	n, err := d.readLen()
	if err != nil {
		return "", "", err
	}
	if n > maxInternKey {
		k := d.readString(n)
		return k, unistring.NewFromString(k), nil
	}
	b, _ := d.take(uint64(n))
	k, name := d.intern.key(b)
	return k, name, nil
}

func (d *msgDecoder) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return d.fail("nested deeper than %d levels", d.maxDepth)
	}
	return nil
}

func (d *msgDecoder) array() (goja.Value, error) {
	c := d.data[d.off] // value peeked it
	d.off++
	u, err := d.lenOf(c, msgpcode.FixedArrayLow, 16, 0, msgpcode.Array16)
	if err != nil {
		return nil, err
	}
	if u > uint64(d.left()) { // every element takes at least a byte
		return nil, d.fail("truncated: array of %d elements", u)
	}
	n := int(u)
	if err := d.enter(); err != nil {
		return nil, err
	}
	if err := d.charge(heapCostArray + heapCostElem*n); err != nil {
		return nil, err
	}
	if d.arrays != nil {
		if a, elems, ok := d.arrays.make(d.r, n); ok {
			for i := range elems {
				d.path = append(d.path, pathSeg{idx: i})
				v, err := d.value()
				if err != nil {
					return nil, err
				}
				d.path = d.path[:len(d.path)-1]
				if v == nil {
					v = goja.Null() // as NewArray makes of it
				}
				elems[i] = v
			}
			d.depth--
			return a, nil
		}
	}
	base := len(d.items)
	for i := 0; i < n; i++ {
		d.path = append(d.path, pathSeg{idx: i})
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		d.items = append(d.items, v)
	}
	a := d.r.NewArray(d.items[base:]...) // copies the elements
	clear(d.items[base:])
	d.items = d.items[:base]
	d.depth--
	return a, nil
}

func (d *msgDecoder) object() (goja.Value, error) {
	c := d.data[d.off] // value peeked it
	d.off++
	u, err := d.lenOf(c, msgpcode.FixedMapLow, 16, 0, msgpcode.Map16)
	if err != nil {
		return nil, err
	}
	if u > uint64(d.left()/2) { // every entry takes at least two bytes
		return nil, d.fail("truncated: map of %d entries", u)
	}
	n := int(u)
	if err := d.enter(); err != nil {
		return nil, err
	}
	cost := heapCostObject
	if n > 0 {
		cost += heapCostFirstProp
	}
	if err := d.charge(cost); err != nil {
		return nil, err
	}
	// A new, extensible plain object that no script has seen: defining a
	// property it does not have yet (writable, enumerable, configurable)
	// is adding it to goja's map and to the end of its list, which is
	// what DefineDataProperty does then, without its closure, recover
	// and descriptor; defining one it has replaces the value in the map.
	// If goja's layout is not the one known, every property takes
	// DefineDataProperty.
	var (
		o      *goja.Object
		names  *[]unistring.String
		values map[unistring.String]goja.Value
	)
	if d.maker != nil {
		o, names, values = d.maker.make(d.r, n)
	} else {
		o = d.r.NewObject()
	}
	for i := 0; i < n; i++ {
		k, name, err := d.key()
		if err != nil {
			return nil, err
		}
		if err := d.charge(heapCostProp + len(k)); err != nil {
			return nil, err
		}
		d.path = append(d.path, pathSeg{key: k, idx: -1})
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.path = d.path[:len(d.path)-1]
		if values != nil && v != nil {
			values[name] = v
			if len(values) > len(*names) {
				*names = append(*names, name)
			}
			continue
		}
		// Define, never Set: no setter runs, and "__proto__" is an own
		// property rather than the receiver's prototype.
		if err := o.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			d.path = append(d.path, pathSeg{key: k, idx: -1})
			return nil, d.fail("%v", err)
		}
	}
	d.depth--
	return o, nil
}

func (d *msgDecoder) bytesValue() (goja.Value, error) {
	n, err := d.readLen()
	if err != nil {
		return nil, err
	}
	if err := d.charge(heapCostBytes + n); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	copy(b, d.data[d.off:])
	d.off += n
	return d.newUint8Array(b)
}

// newUint8Array returns a Uint8Array over b, built with the global
// constructor and checked to be one (see the package comment above).
func (d *msgDecoder) newUint8Array(b []byte) (goja.Value, error) {
	buf := d.r.NewArrayBuffer(b)
	o, err := d.construct("Uint8Array", d.r.ToValue(buf))
	if err != nil {
		return nil, err
	}
	got, _ := o.Export().([]byte)
	if k, _ := classifyObject(o); k != objTypedArray || len(got) != len(b) || len(b) > 0 && &got[0] != &b[0] {
		return nil, d.fail("the global Uint8Array does not construct Uint8Arrays")
	}
	return o, nil
}

// newDate returns a Date of time value ms, built with the global
// constructor and checked to be one.
func (d *msgDecoder) newDate(ms float64) (goja.Value, error) {
	o, err := d.construct("Date", d.r.ToValue(ms))
	if err != nil {
		return nil, err
	}
	t, valid := o.Export().(time.Time)
	// TimeClip, as the Date constructor applies it.
	wantValid := !math.IsNaN(ms) && math.Abs(ms) <= 8.64e15
	if k, _ := classifyObject(o); k != objDate || valid != wantValid || valid && float64(t.UnixMilli()) != math.Trunc(ms)+0 {
		return nil, d.fail("the global Date does not construct Dates")
	}
	return o, nil
}

// construct calls new name(arg) with the global constructor name. Only a
// script that replaced the global runs here; what it throws is reported
// by its message, without running more of it.
func (d *msgDecoder) construct(name string, arg goja.Value) (*goja.Object, error) {
	var ctor goja.Value
	if ex := d.r.Try(func() { ctor = d.r.GlobalObject().Get(name) }); ex != nil {
		return nil, d.fail("global %s: %s", name, thrownMessage(d.r, ex))
	}
	if _, ok := ctor.(*goja.Object); !ok {
		return nil, d.fail("no global %s", name)
	}
	o, err := d.r.New(ctor, arg)
	if err != nil {
		msg := "failed"
		if ex, ok := err.(*goja.Exception); ok {
			msg = thrownMessage(d.r, ex)
		}
		return nil, d.fail("new %s: %s", name, msg)
	}
	return o, nil
}

func (d *msgDecoder) ext() (goja.Value, error) {
	c := d.data[d.off] // value peeked it
	d.off++
	var size uint64
	var err error
	switch c {
	case msgpcode.FixExt1, msgpcode.FixExt2, msgpcode.FixExt4, msgpcode.FixExt8, msgpcode.FixExt16:
		size = 1 << (c - msgpcode.FixExt1)
	case msgpcode.Ext8:
		size, err = d.uintN(1)
	case msgpcode.Ext16:
		size, err = d.uintN(2)
	default:
		size, err = d.uintN(4)
	}
	if err != nil {
		return nil, err
	}
	t, err := d.uintN(1)
	if err != nil {
		return nil, err
	}
	id := int8(t)
	want := uint64(1 << 63)
	switch id {
	case extUndefined:
		want = 0
	case extCapability:
		want = 4
	case extDate:
		want = 8
	case extTimestamp:
		if size == 4 || size == 8 || size == 12 {
			want = size
		}
	default:
		return nil, d.fail("unknown extension type %d", id)
	}
	if size != want {
		return nil, d.fail("extension type %d of %d bytes", id, size)
	}
	p, err := d.take(size)
	if err != nil {
		return nil, err
	}
	n := int(size)
	switch id {
	case extUndefined:
		return goja.Undefined(), nil
	case extCapability:
		if d.capAt == nil {
			return nil, d.fail("unexpected capability")
		}
		if err := d.charge(heapCostCap); err != nil {
			return nil, err
		}
		v, err := d.capAt(binary.BigEndian.Uint32(p[:4]))
		if err != nil {
			return nil, d.fail("capability: %v", err)
		}
		return v, nil
	}
	if err := d.charge(heapCostDate); err != nil {
		return nil, err
	}
	if id == extDate {
		return d.newDate(math.Float64frombits(binary.BigEndian.Uint64(p[:8])))
	}
	// The msgpack timestamp: 32-bit seconds; 30-bit nanoseconds and 34-bit
	// seconds; or 32-bit nanoseconds and signed 64-bit seconds.
	var sec, nsec int64
	switch n {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p[:4]))
	case 8:
		v := binary.BigEndian.Uint64(p[:8])
		nsec, sec = int64(v>>34), int64(v&(1<<34-1))
	case 12:
		nsec, sec = int64(binary.BigEndian.Uint32(p[:4])), int64(binary.BigEndian.Uint64(p[4:12]))
	}
	if nsec >= 1e9 {
		return nil, d.fail("timestamp with %d nanoseconds", nsec)
	}
	return d.newDate(float64(sec)*1000 + float64(nsec/1e6))
}
