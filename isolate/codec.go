package isolate

/*
The message codec: how a JS value becomes the bytes of a message and back.

Every message that crosses an isolate boundary is copied, never shared: the
sender's value is walked and written as MessagePack, and the receiver gets
fresh values built from those bytes in its own runtime. Mutating either side
afterwards changes nothing on the other.

Data model (what can be sent, and what arrives):

	sent                               msgpack                     arrives as
	null                               nil                         null
	undefined                          ext 1, empty                undefined (distinct from null, also
	                                                               inside objects and arrays)
	true, false                        bool                        the same boolean
	string                             str (UTF-8)                 an equal string; a lone UTF-16 surrogate,
	                                                               which JS strings can hold and UTF-8
	                                                               cannot, arrives as U+FFFD. Characters
	                                                               outside the BMP (emoji) arrive exactly.
	number, integral, |n| <= 2^53-1,   the smallest int            the same number
	  not -0
	any other number (fractions, -0,   float64                     the same number: -0, NaN and ±Infinity
	  NaN, ±Infinity, |n| >= 2^53)                                 survive (Object.is holds)
	Uint8Array, Uint8ClampedArray      bin (the view's bytes only, a Uint8Array over a fresh copy
	                                   respecting byteOffset and
	                                   byteLength)
	Date                               ext 3: float64 ms since     a new Date with the same time value;
	                                   the epoch, big-endian        an invalid Date stays invalid
	Array                              array                       a new Array with the same length; holes
	                                                               arrive as undefined; non-index
	                                                               properties are not sent
	object                             map, string keys            a new plain object (prototype
	                                                               Object.prototype) with the sender's own
	                                                               enumerable string-keyed properties, in
	                                                               property order, each an own writable,
	                                                               enumerable, configurable data property
	                                                               -- even one named "__proto__", which
	                                                               therefore never changes the receiver's
	                                                               prototype. Class instances and objects
	                                                               with a null prototype are sent the same
	                                                               way (the prototype and methods stay
	                                                               behind, as with structuredClone).
	Error (and subclasses)             map                         a plain object {name, message, ...own
	                                                               enumerable properties}; the stack and
	                                                               the prototype stay behind
	a capability handle                ext 2: big-endian uint32    a handle to the same capability in the
	                                   index into the envelope's   receiver
	                                   capability list

Property values are read with ordinary JS property reads, so getters run
(and a getter that throws fails the send). Symbol-keyed and non-enumerable
properties are skipped. A property that a getter deleted during the walk, or
whose name holds a lone surrogate (and so cannot be read back by its UTF-8
name), is skipped. An object referenced twice (a DAG) is copied twice.

Refused with a *CloneError that names where in the value and what
("cannot send msg.a[3].b: function"): functions and classes, symbols, BigInt,
Map, Set, WeakMap, WeakSet, Promise, RegExp, ArrayBuffer, DataView, typed
arrays other than Uint8Array and Uint8ClampedArray, Proxy objects, boxed
primitives (new Number(1)), arguments objects, iterators and generators,
host objects other than capability handles, a cycle (an object that contains
itself on the current path), nesting deeper than MaxDepth objects and arrays,
and an encoding larger than MaxBytes. The walk stops at the first problem:
a value that grows without bound (a getter minting new objects, a DAG
doubling at every level) fails on MaxDepth or MaxBytes as soon as the limit
is passed. Nothing partial is ever returned.

Decoding accepts any MessagePack value made of the types above and, for
peers that are not JS, also: map keys that are not strings (nil, booleans
and numbers become their JS string form: 1 -> "1"), float32, and the
standard timestamp extension (-1), which becomes a Date (millisecond
precision). Invalid UTF-8 in a string becomes U+FFFD. Duplicate keys: the
last one wins. Unknown extension types, malformed or truncated input,
trailing bytes after the value, nesting deeper than MaxDepth, and input
longer than MaxBytes are errors (wrapping errMalformedMessage); decoding
never panics, and what it allocates before reading further input is bounded
by the bytes that remain (a header claiming 2^32 elements in a 10-byte
message fails at once).

A Date or Uint8Array is built with the constructor currently bound to the
global Date or Uint8Array in the receiving runtime: goja offers no other way
from Go, and capturing the intrinsics eagerly would make every isolate
materialise the typed-array builtins (~10 KB). A script that replaced those
globals has its replacement called while its own message is decoded; the
result is checked to be a genuine Date with the sent time, or a genuine
Uint8Array over the fresh copy, and anything else fails the decode. The
script can harm only itself this way.
*/

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// MessagePack extension types of the message format.
const (
	extUndefined  int8 = 1  // JS undefined; zero-length payload
	extCapability int8 = 2  // a capability: big-endian uint32 index into the envelope's capabilities
	extDate       int8 = 3  // a Date: big-endian float64 milliseconds since the epoch (NaN if invalid)
	extTimestamp  int8 = -1 // the standard msgpack timestamp; accepted on decode only
)

// Default limits of one message.
const (
	defaultMaxMessageBytes = 1 << 20
	defaultMaxMessageDepth = 64
)

// maxSafeInteger is Number.MAX_SAFE_INTEGER.
const maxSafeInteger = 1<<53 - 1

// codecLimits bounds one message.
type codecLimits struct {
	MaxBytes int // encoded size limit; encoding stops early with an error once exceeded (0 = default 1 MiB)
	MaxDepth int // nesting limit of objects/arrays (0 = default 64)
}

func (l codecLimits) withDefaults() codecLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxMessageBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxMessageDepth
	}
	return l
}

// CloneError says why a value cannot be sent; Path is where in the value
// ("msg.a[3].b").
type CloneError struct {
	Path   string
	Reason string
	err    error // the exception a getter threw, if that is the reason
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

func formatPath(segs []pathSeg) string {
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
		if isIdentifier(k) {
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

func isIdentifier(s string) bool {
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
	kindRefused    objKind = iota // not sendable; objInfo.name says what it is
	kindPlain                     // own enumerable properties -> map
	kindArray                     // elements -> array
	kindError                     // {name, message, ...own enumerable} -> map
	kindDate                      // -> extDate
	kindTypedArray                // Uint8Array/Uint8ClampedArray -> bin; others refused by element type
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

// implType returns the concrete goja type behind o, or nil.
func implType(o *goja.Object) reflect.Type {
	if selfField < 0 {
		return nil
	}
	f := reflect.ValueOf(o).Elem().Field(selfField)
	if f.IsNil() {
		return nil
	}
	return f.Elem().Type()
}

var kindProbes = []struct {
	kind objKind
	name string
	src  string
}{
	{kindPlain, "", `({})`},
	{kindArray, "", `[]`},
	{kindArray, "", `(a => (a[1e6] = 0, a))([])`}, // goja's sparse representation
	{kindError, "", `new Error()`},
	{kindDate, "", `new Date(0)`},
	{kindTypedArray, "", `new Uint8Array(0)`},
	{kindRefused, "function", `function () {}`},
	{kindRefused, "function", `() => {}`},
	{kindRefused, "function", `async function () {}`},
	{kindRefused, "function", `async () => {}`},
	{kindRefused, "function", `function* () {}`},
	{kindRefused, "function", `async function* () {}`},
	{kindRefused, "function", `({ m() {} }).m`},
	{kindRefused, "function", `class {}`},
	{kindRefused, "function", `Math.max`},
	{kindRefused, "function", `Object`},
	{kindRefused, "function", `(function () {}).bind(null)`},
	{kindRefused, "Proxy", `new Proxy({}, {})`},
	{kindRefused, "Proxy", `new Proxy(function () {}, {})`},
	{kindRefused, "Map (send an array of entries or an object instead)", `new Map()`},
	{kindRefused, "Set (send an array instead)", `new Set()`},
	{kindRefused, "WeakMap", `new WeakMap()`},
	{kindRefused, "WeakSet", `new WeakSet()`},
	{kindRefused, "Promise", `Promise.resolve()`},
	{kindRefused, "RegExp", `/x/`},
	{kindRefused, "ArrayBuffer (send a Uint8Array instead)", `new ArrayBuffer(0)`},
	{kindRefused, "DataView", `new DataView(new ArrayBuffer(0))`},
	{kindRefused, "boxed primitive", `new Number(0)`},
	{kindRefused, "boxed primitive", `new String("")`},
	{kindRefused, "boxed primitive", `new Boolean(false)`},
	{kindRefused, "boxed primitive", `Object(Symbol())`},
	{kindRefused, "boxed primitive", `Object(0n)`},
	{kindRefused, "arguments object", `(function () { return arguments })()`},
	{kindRefused, "generator", `(function* () {})()`},
	{kindRefused, "generator", `(async function* () {})()`},
	{kindRefused, "iterator", `[][Symbol.iterator]()`},
	{kindRefused, "iterator", `new Map().keys()`},
	{kindRefused, "iterator", `new Set().values()`},
	{kindRefused, "iterator", `""[Symbol.iterator]()`},
	{kindRefused, "iterator", `"a".matchAll(/a/g)`},
	{kindRefused, "WeakRef", `new WeakRef({})`},
	{kindRefused, "FinalizationRegistry", `new FinalizationRegistry(() => {})`},
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
		t := implType(o)
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
	for _, p := range kindProbes {
		v, err := r.RunString("(" + p.src + ")")
		if err != nil {
			continue // not supported by this goja version
		}
		add(v, p.kind, p.name)
	}
	add(r.NewDynamicObject(hostObjectProbe{}), kindRefused, "host object")
	add(r.NewDynamicArray(hostArrayProbe{}), kindRefused, "host object")
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

// classify says how o is sent; for a refused object, name says what it is.
func classify(o *goja.Object) (kind objKind, name string) {
	t := implType(o)
	for _, k := range objectKinds() {
		if k.t == t {
			if k.kind == kindTypedArray && o.ExportType() != typeBytes {
				return kindRefused, typedArrayKind(o.ExportType())
			}
			return k.kind, k.name
		}
	}
	if _, ok := goja.AssertFunction(o); ok {
		return kindRefused, "function"
	}
	return kindRefused, "unsupported object"
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
	typeBytes   = reflect.TypeOf([]byte(nil))
	typeTime    = reflect.TypeOf(time.Time{})
	typeInt64   = reflect.TypeOf(int64(0))
	typeFloat64 = reflect.TypeOf(float64(0))
	typeBool    = reflect.TypeOf(false)
)

// indexNames holds the property names of the first array indices, so that
// walking an array does not allocate one per element.
var indexNames = sync.OnceValue(func() []string {
	s := make([]string, 1024)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
})

func indexName(i int) string {
	if names := indexNames(); i < len(names) {
		return names[i]
	}
	return strconv.Itoa(i)
}

// ---------------------------------------------------------------------------
// Encoding.

// encoder is the state of one encodeValue call; pooled.
type encoder struct {
	buf      bytes.Buffer
	enc      *msgpack.Encoder
	maxBytes int
	maxDepth int
	onCap    func(o *goja.Object) (uint32, bool)
	stack    []*goja.Object // the objects on the current path, for cycle detection
	path     []pathSeg
	v        goja.Value // the value to encode, for run
	err      error
	runFn    func() // e.run, bound once
	tmp      [8]byte
}

// maxPooledBuffer is the largest buffer the pool keeps.
const maxPooledBuffer = 64 << 10

var encoderPool = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.runFn = e.run
	return e
}}

// encodeValue walks v and writes msgpack. onCap is asked about every object first: if it returns ok, the object is a
// capability handle and is written as extension type extCapability with payload = the big-endian uint32 index returned.
// Errors are *CloneError.
func encodeValue(r *goja.Runtime, v goja.Value, lim codecLimits, onCap func(o *goja.Object) (index uint32, ok bool)) ([]byte, error) {
	lim = lim.withDefaults()
	e := encoderPool.Get().(*encoder)
	e.maxBytes, e.maxDepth, e.onCap, e.v = lim.MaxBytes, lim.MaxDepth, onCap, v
	if ex := r.Try(e.runFn); ex != nil {
		e.err = &CloneError{Path: formatPath(e.path), Reason: "a getter threw: " + thrownMessage(r, ex), err: ex}
	}
	err := e.err
	var out []byte
	if err == nil {
		out = bytes.Clone(e.buf.Bytes())
	}
	e.release()
	return out, err
}

func (e *encoder) run() {
	e.err = e.value(e.v)
	if e.err == nil && e.buf.Len() > e.maxBytes {
		e.err = e.tooBig()
	}
}

func (e *encoder) release() {
	clear(e.stack)
	e.stack = e.stack[:0]
	e.path = e.path[:0]
	e.onCap, e.v, e.err = nil, nil, nil
	if e.buf.Cap() > maxPooledBuffer {
		return
	}
	e.buf.Reset()
	encoderPool.Put(e)
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
		return shorten(v.String())
	}
	msg := "exception"
	r.Try(func() {
		if m := o.Get("message"); m != nil && goja.IsString(m) {
			msg = shorten(m.String())
		}
	})
	return msg
}

// shorten bounds an exception message quoted in an error.
func shorten(s string) string {
	if len(s) <= 200 {
		return s
	}
	return strings.ToValidUTF8(s[:200], "") + "…"
}

func (e *encoder) fail(reason string) error {
	return &CloneError{Path: formatPath(e.path), Reason: reason}
}

func (e *encoder) tooBig() error {
	return e.fail(fmt.Sprintf("message larger than %d bytes", e.maxBytes))
}

// value writes v. The msgpack Encoder writes to a bytes.Buffer, which
// cannot fail, so its errors are not checked.
func (e *encoder) value(v goja.Value) error {
	if e.buf.Len() > e.maxBytes {
		return e.tooBig()
	}
	switch x := v.(type) {
	case nil:
		_ = e.enc.EncodeExtHeader(extUndefined, 0)
		return nil
	case *goja.Object:
		return e.object(x)
	case goja.String:
		s := x.String() // lone surrogates become U+FFFD
		if e.buf.Len()+len(s) > e.maxBytes {
			return e.tooBig()
		}
		_ = e.enc.EncodeString(s)
		return nil
	case *goja.Symbol:
		return e.fail("symbol")
	}
	switch v.ExportType() {
	case typeInt64:
		n := v.ToInteger()
		if n >= -maxSafeInteger && n <= maxSafeInteger {
			_ = e.enc.EncodeInt(n)
		} else {
			_ = e.enc.EncodeFloat64(float64(n))
		}
		return nil
	case typeFloat64:
		e.number(v.ToFloat())
		return nil
	case typeBool:
		_ = e.enc.EncodeBool(v.ToBoolean())
		return nil
	}
	switch {
	case goja.IsUndefined(v):
		_ = e.enc.EncodeExtHeader(extUndefined, 0)
	case goja.IsNull(v):
		_ = e.enc.EncodeNil()
	case goja.IsBigInt(v):
		return e.fail("BigInt")
	default:
		return e.fail("unsupported value")
	}
	return nil
}

func (e *encoder) number(f float64) {
	if f == math.Trunc(f) && f >= -maxSafeInteger && f <= maxSafeInteger && (f != 0 || !math.Signbit(f)) {
		_ = e.enc.EncodeInt(int64(f))
		return
	}
	_ = e.enc.EncodeFloat64(f)
}

func (e *encoder) object(o *goja.Object) error {
	if e.onCap != nil {
		if idx, ok := e.onCap(o); ok {
			_ = e.enc.EncodeExtHeader(extCapability, 4)
			binary.BigEndian.PutUint32(e.tmp[:4], idx)
			e.buf.Write(e.tmp[:4])
			return nil
		}
	}
	kind, name := classify(o)
	switch kind {
	case kindDate:
		ms := math.NaN()
		if t, ok := o.Export().(time.Time); ok {
			ms = float64(t.UnixMilli())
		}
		_ = e.enc.EncodeExtHeader(extDate, 8)
		binary.BigEndian.PutUint64(e.tmp[:], math.Float64bits(ms))
		e.buf.Write(e.tmp[:])
		return nil
	case kindTypedArray:
		b, _ := o.Export().([]byte) // the view's bytes, not a copy
		if e.buf.Len()+len(b) > e.maxBytes {
			return e.tooBig()
		}
		_ = e.enc.EncodeBytesLen(len(b)) // EncodeBytes would write nil for an empty view
		e.buf.Write(b)
		return nil
	case kindPlain, kindArray, kindError:
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
	case kindArray:
		err = e.array(o)
	case kindError:
		keys := []string{"name", "message"}
		for _, k := range o.Keys() {
			if k != "name" && k != "message" {
				keys = append(keys, k)
			}
		}
		err = e.props(o, keys)
	default:
		err = e.props(o, o.Keys())
	}
	e.stack[len(e.stack)-1] = nil
	e.stack = e.stack[:len(e.stack)-1]
	return err
}

func (e *encoder) props(o *goja.Object, keys []string) error {
	start := e.buf.Len()
	_ = e.enc.EncodeMapLen(len(keys))
	n := 0
	for _, k := range keys {
		e.path = append(e.path, pathSeg{key: k, idx: -1})
		v := o.Get(k)
		if v == nil {
			e.path = e.path[:len(e.path)-1]
			continue // deleted by a getter, or unreachable by its UTF-8 name
		}
		if e.buf.Len()+len(k) > e.maxBytes {
			return e.tooBig()
		}
		_ = e.enc.EncodeString(k)
		if err := e.value(v); err != nil {
			return err
		}
		e.path = e.path[:len(e.path)-1]
		n++
	}
	if n != len(keys) {
		patchMapLen(e.buf.Bytes()[start:], n)
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

func (e *encoder) array(o *goja.Object) error {
	n := int(o.Get("length").ToInteger())
	_ = e.enc.EncodeArrayLen(n)
	for i := 0; i < n; i++ {
		e.path = append(e.path, pathSeg{idx: i})
		v := o.Get(indexName(i))
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

// Interning limits: decoded keys up to maxInternKey bytes and ASCII string
// values up to maxInternValue bytes are shared between messages, up to
// maxInterned of each per pooled decoder.
const (
	maxInternKey   = 32
	maxInternValue = 16 // goja keeps ASCII strings this short immutable (asciiString)
	maxInterned    = 1024
)

// decoder is the state of one decodeValue call; pooled.
type decoder struct {
	r        *goja.Runtime
	rd       bytes.Reader
	dec      *msgpack.Decoder
	maxDepth int
	depth    int
	capAt    func(index uint32) (goja.Value, error)
	items    []any // elements of the arrays being decoded, as a stack
	path     []pathSeg
	buf      []byte
	keys     map[string]string
	strs     map[string]goja.Value
}

var decoderPool = sync.Pool{New: func() any {
	d := &decoder{
		keys: make(map[string]string),
		strs: make(map[string]goja.Value),
		buf:  make([]byte, 0, maxInternKey),
	}
	d.dec = msgpack.NewDecoder(&d.rd) // a bytes.Reader is a ByteScanner: no extra buffering
	return d
}}

// decodeValue builds fresh goja values from data. capAt turns an extCapability index into the JS handle (it returns an error for an index out of range).
func decodeValue(r *goja.Runtime, data []byte, lim codecLimits, capAt func(index uint32) (goja.Value, error)) (goja.Value, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errMalformedMessage, len(data), lim.MaxBytes)
	}
	d := decoderPool.Get().(*decoder)
	d.r, d.maxDepth, d.capAt = r, lim.MaxDepth, capAt
	d.rd.Reset(data)
	v, err := d.value()
	if err == nil && d.rd.Len() > 0 {
		v, err = nil, d.fail("%d trailing bytes after the value", d.rd.Len())
	}
	d.release()
	return v, err
}

func (d *decoder) release() {
	d.r, d.capAt = nil, nil
	d.rd.Reset(nil)
	d.depth = 0
	d.path = d.path[:0]
	clear(d.items)
	d.items = d.items[:0]
	if cap(d.items) > 4096 {
		d.items = nil
	}
	decoderPool.Put(d)
}

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("%w at %s: %s", errMalformedMessage, formatPath(d.path), fmt.Sprintf(format, args...))
}

// wrap describes an error of the msgpack decoder (truncated input,
// mostly).
func (d *decoder) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.fail("truncated")
	}
	return d.fail("%v", err)
}

func (d *decoder) value() (goja.Value, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, d.wrap(err)
	}
	switch {
	case c == msgpcode.Nil:
		_, _ = d.rd.ReadByte()
		return goja.Null(), nil
	case c == msgpcode.True || c == msgpcode.False:
		_, _ = d.rd.ReadByte()
		return d.r.ToValue(c == msgpcode.True), nil
	case msgpcode.IsFixedNum(c) || c >= msgpcode.Uint8 && c <= msgpcode.Uint32 || c >= msgpcode.Int8 && c <= msgpcode.Int64:
		n, err := d.dec.DecodeInt64()
		if err != nil {
			return nil, d.wrap(err)
		}
		return d.r.ToValue(n), nil // beyond 2^53 goja makes it a float
	case c == msgpcode.Uint64:
		n, err := d.dec.DecodeUint64()
		if err != nil {
			return nil, d.wrap(err)
		}
		return d.r.ToValue(n), nil
	case c == msgpcode.Float:
		f, err := d.dec.DecodeFloat32()
		if err != nil {
			return nil, d.wrap(err)
		}
		return d.r.ToValue(float64(f)), nil
	case c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		if err != nil {
			return nil, d.wrap(err)
		}
		return d.r.ToValue(f), nil
	case msgpcode.IsString(c):
		return d.stringValue()
	case msgpcode.IsBin(c):
		return d.bytesValue()
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		return d.array()
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return d.object()
	case msgpcode.IsExt(c):
		return d.ext()
	}
	return nil, d.fail("invalid msgpack code 0x%02x", c)
}

// readLen reads the length of a str or bin and checks that many bytes remain.
func (d *decoder) readLen() (int, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return 0, d.wrap(err)
	}
	if n < 0 || n > d.rd.Len() {
		return 0, d.fail("truncated")
	}
	return n, nil
}

// readScratch reads n bytes into the decoder's scratch buffer; n must be
// small.
func (d *decoder) readScratch(n int) ([]byte, error) {
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if _, err := d.rd.Read(b); err != nil && n > 0 {
		return nil, d.wrap(err)
	}
	return b, nil
}

// readString reads n bytes as a new string, valid UTF-8.
func (d *decoder) readString(n int) string {
	if n == 0 {
		return ""
	}
	b := make([]byte, n)
	_, _ = d.rd.Read(b) // n <= d.rd.Len() was checked
	s := unsafe.String(&b[0], n)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func (d *decoder) stringValue() (goja.Value, error) {
	n, err := d.readLen()
	if err != nil {
		return nil, err
	}
	if n > maxInternValue {
		return d.r.ToValue(d.readString(n)), nil
	}
	b, err := d.readScratch(n)
	if err != nil {
		return nil, err
	}
	if v, ok := d.strs[string(b)]; ok {
		return v, nil
	}
	s := string(b)
	if !isASCII(b) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		return d.r.ToValue(s), nil
	}
	v := d.r.ToValue(s)
	if len(d.strs) >= maxInterned {
		clear(d.strs)
	}
	d.strs[s] = v
	return v, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// key reads a map key. Keys that are not strings but scalars become their
// JS string form.
func (d *decoder) key() (string, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return "", d.wrap(err)
	}
	if !msgpcode.IsString(c) {
		switch {
		case c == msgpcode.Nil, c == msgpcode.True, c == msgpcode.False, c == msgpcode.Float, c == msgpcode.Double,
			msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Uint64, c >= msgpcode.Int8 && c <= msgpcode.Int64:
			v, err := d.value()
			if err != nil {
				return "", err
			}
			return v.String(), nil
		}
		return "", d.fail("unsupported map key (msgpack code 0x%02x)", c)
	}
	n, err := d.readLen()
	if err != nil {
		return "", err
	}
	if n > maxInternKey {
		return d.readString(n), nil
	}
	b, err := d.readScratch(n)
	if err != nil {
		return "", err
	}
	if k, ok := d.keys[string(b)]; ok {
		return k, nil
	}
	k := string(b)
	if !utf8.ValidString(k) {
		return strings.ToValidUTF8(k, "\uFFFD"), nil
	}
	if len(d.keys) >= maxInterned {
		clear(d.keys)
	}
	d.keys[k] = k
	return k, nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return d.fail("nested deeper than %d levels", d.maxDepth)
	}
	return nil
}

func (d *decoder) array() (goja.Value, error) {
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return nil, d.wrap(err)
	}
	if n < 0 || n > d.rd.Len() { // every element takes at least a byte
		return nil, d.fail("truncated: array of %d elements", n)
	}
	if err := d.enter(); err != nil {
		return nil, err
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

func (d *decoder) object() (goja.Value, error) {
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return nil, d.wrap(err)
	}
	if n < 0 || n > d.rd.Len()/2 { // every entry takes at least two bytes
		return nil, d.fail("truncated: map of %d entries", n)
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	o := d.r.NewObject()
	for i := 0; i < n; i++ {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		d.path = append(d.path, pathSeg{key: k, idx: -1})
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		// Define, never Set: no setter runs, and "__proto__" is an own
		// property rather than the receiver's prototype.
		if err := o.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return nil, d.fail("%v", err)
		}
		d.path = d.path[:len(d.path)-1]
	}
	d.depth--
	return o, nil
}

func (d *decoder) bytesValue() (goja.Value, error) {
	n, err := d.readLen()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, _ = d.rd.Read(b)
	return d.newUint8Array(b)
}

// newUint8Array returns a Uint8Array over b, built with the global
// constructor and checked to be one (see the package comment above).
func (d *decoder) newUint8Array(b []byte) (goja.Value, error) {
	buf := d.r.NewArrayBuffer(b)
	o, err := d.construct("Uint8Array", d.r.ToValue(buf))
	if err != nil {
		return nil, err
	}
	got, _ := o.Export().([]byte)
	if k, _ := classify(o); k != kindTypedArray || len(got) != len(b) || len(b) > 0 && &got[0] != &b[0] {
		return nil, d.fail("the global Uint8Array does not construct Uint8Arrays")
	}
	return o, nil
}

// newDate returns a Date of time value ms, built with the global
// constructor and checked to be one.
func (d *decoder) newDate(ms float64) (goja.Value, error) {
	o, err := d.construct("Date", d.r.ToValue(ms))
	if err != nil {
		return nil, err
	}
	t, valid := o.Export().(time.Time)
	// TimeClip, as the Date constructor applies it.
	wantValid := !math.IsNaN(ms) && math.Abs(ms) <= 8.64e15
	if k, _ := classify(o); k != kindDate || valid != wantValid || valid && float64(t.UnixMilli()) != math.Trunc(ms)+0 {
		return nil, d.fail("the global Date does not construct Dates")
	}
	return o, nil
}

func (d *decoder) construct(name string, arg goja.Value) (*goja.Object, error) {
	ctor := d.r.GlobalObject().Get(name)
	if ctor == nil {
		return nil, d.fail("no global %s", name)
	}
	o, err := d.r.New(ctor, arg)
	if err != nil {
		return nil, d.fail("new %s: %v", name, err)
	}
	return o, nil
}

func (d *decoder) ext() (goja.Value, error) {
	id, n, err := d.dec.DecodeExtHeader()
	if err != nil {
		return nil, d.wrap(err)
	}
	want := -1
	switch id {
	case extUndefined:
		want = 0
	case extCapability:
		want = 4
	case extDate:
		want = 8
	case extTimestamp:
		if n == 4 || n == 8 || n == 12 {
			want = n
		}
	default:
		return nil, d.fail("unknown extension type %d", id)
	}
	if n != want {
		return nil, d.fail("extension type %d of %d bytes", id, n)
	}
	if n > d.rd.Len() {
		return nil, d.fail("truncated")
	}
	var p [12]byte
	_, _ = d.rd.Read(p[:n])
	switch id {
	case extUndefined:
		return goja.Undefined(), nil
	case extCapability:
		if d.capAt == nil {
			return nil, d.fail("unexpected capability")
		}
		v, err := d.capAt(binary.BigEndian.Uint32(p[:4]))
		if err != nil {
			return nil, d.fail("capability: %v", err)
		}
		return v, nil
	case extDate:
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
