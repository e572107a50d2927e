package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

// The MessagePack extension types of Cloister's message format.
const (
	// ExtUndefined is JS undefined; its payload is empty.
	ExtUndefined int8 = 1
	// ExtCapability is a capability: its payload is a big-endian uint32
	// index into the envelope's capabilities.
	ExtCapability int8 = 2
	// ExtDate is a JS Date: its payload is the time value, big-endian
	// float64 milliseconds since the epoch (NaN for an invalid Date).
	ExtDate int8 = 3
	// ExtTimestamp is the standard MessagePack timestamp, accepted on
	// decode (as a Date) for peers that are not JS; never written.
	ExtTimestamp int8 = -1
)

// Payload lengths of the extension types.
const (
	UndefinedLen  = 0
	CapabilityLen = 4
	DateLen       = 8
)

// MaxDepth bounds the nesting of arrays, maps, structs and pointers that
// Marshal writes and Unmarshal reads; it is also the JS side's default.
const MaxDepth = 64

// maxDateMillis is the range of a JS time value.
const maxDateMillis = 8.64e15

// Undefined is JS undefined, distinct from nil (JS null). A value of type
// Undefined encodes as undefined; undefined decodes into any as Undefined{}.
type Undefined struct{}

var (
	typeUndefined = reflect.TypeFor[Undefined]()
	typeTime      = reflect.TypeFor[time.Time]()
	typeCap       = reflect.TypeFor[*capability.Capability]()
	typeBytes     = reflect.TypeFor[[]byte]()
)

// DateMillis returns the time value of t as a JS Date holds it: milliseconds
// since the epoch.
func DateMillis(t time.Time) float64 { return float64(t.UnixMilli()) }

// DateTime returns the time a JS time value stands for, in UTC, and false
// for an invalid Date (NaN, infinite or out of a Date's range).
func DateTime(ms float64) (time.Time, bool) {
	if math.IsNaN(ms) || math.Abs(ms) > maxDateMillis {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(math.Trunc(ms))).UTC(), true
}

// Marshal returns the message encoding of v. A capability in v is an
// error wrapping ErrNoEnvelope: use Encode.
func Marshal(v any) ([]byte, error) {
	e := encoder{}
	if err := e.value(reflect.ValueOf(v), 0); err != nil {
		return nil, fmt.Errorf("codec: marshal: %w", err)
	}
	return e.b, nil
}

// Encode returns an envelope holding the message encoding of v and the
// capabilities in it, in the order they appear.
func Encode(v any) (*mailbox.Envelope, error) {
	e := encoder{envelope: true}
	if err := e.value(reflect.ValueOf(v), 0); err != nil {
		return nil, fmt.Errorf("codec: encode: %w", err)
	}
	return mailbox.NewEnvelope(e.b, e.caps), nil
}

type encoder struct {
	b        []byte
	caps     []*capability.Capability
	envelope bool
}

// pathError says where in a value a problem is.
type pathError struct {
	path string // like .results[2].job
	err  error
}

func (e *pathError) Error() string { return strings.TrimPrefix(e.path, ".") + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// at prefixes err's path with seg.
func at(seg string, err error) error {
	if pe, ok := err.(*pathError); ok {
		pe.path = seg + pe.path
		return pe
	}
	return &pathError{path: seg, err: err}
}

// enter refuses a container or pointer nested MaxDepth deep.
func enter(depth int) error {
	if depth >= MaxDepth {
		return fmt.Errorf("%w: nested more than %d deep (a cycle?)", ErrUnsupported, MaxDepth)
	}
	return nil
}

func (e *encoder) value(v reflect.Value, depth int) error {
	if !v.IsValid() {
		e.b = append(e.b, 0xc0)
		return nil
	}
	switch v.Type() {
	case typeUndefined:
		e.ext(ExtUndefined, nil)
		return nil
	case typeTime:
		var p [DateLen]byte
		binary.BigEndian.PutUint64(p[:], math.Float64bits(DateMillis(v.Interface().(time.Time))))
		e.ext(ExtDate, p[:])
		return nil
	case typeCap:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if !e.envelope {
			return ErrNoEnvelope
		}
		if uint64(len(e.caps)) >= math.MaxUint32 {
			return fmt.Errorf("%w: too many capabilities", ErrUnsupported)
		}
		var p [CapabilityLen]byte
		binary.BigEndian.PutUint32(p[:], uint32(len(e.caps)))
		e.caps = append(e.caps, v.Interface().(*capability.Capability))
		e.ext(ExtCapability, p[:])
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.b = append(e.b, 0xc3)
		} else {
			e.b = append(e.b, 0xc2)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.b = append(e.b, 0xcb)
		e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(v.Float()))
	case reflect.String:
		e.str(v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.bin(v.Bytes())
			return nil
		}
		return e.array(v, depth)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			e.bin(b)
			return nil
		}
		return e.array(v, depth)
	case reflect.Map:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		return e.mapValue(v, depth)
	case reflect.Struct:
		return e.structValue(v, depth)
	case reflect.Interface:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		return e.value(v.Elem(), depth)
	case reflect.Pointer:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if err := enter(depth); err != nil {
			return err
		}
		return e.value(v.Elem(), depth+1)
	default:
		return fmt.Errorf("%w: %s", ErrUnsupported, v.Type())
	}
	return nil
}

func (e *encoder) array(v reflect.Value, depth int) error {
	if err := enter(depth); err != nil {
		return err
	}
	e.arrayLen(v.Len())
	for i := range v.Len() {
		if err := e.value(v.Index(i), depth+1); err != nil {
			return at("["+strconv.Itoa(i)+"]", err)
		}
	}
	return nil
}

func (e *encoder) mapValue(v reflect.Value, depth int) error {
	if err := enter(depth); err != nil {
		return err
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		k, err := mapKey(iter.Key())
		if err != nil {
			return err
		}
		entries = append(entries, entry{k, iter.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	e.mapLen(len(entries))
	for _, en := range entries {
		e.str(en.key)
		if err := e.value(en.val, depth+1); err != nil {
			return at("."+en.key, err)
		}
	}
	return nil
}

// mapKey is the string form of a Go map key.
func mapKey(k reflect.Value) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	case reflect.Interface:
		if !k.IsNil() {
			return mapKey(k.Elem())
		}
	}
	return "", fmt.Errorf("%w: map key of type %s", ErrUnsupported, k.Type())
}

func (e *encoder) structValue(v reflect.Value, depth int) error {
	if err := enter(depth); err != nil {
		return err
	}
	fields := fieldsOf(v.Type())
	vals := make([]reflect.Value, len(fields))
	n := 0
	for i, f := range fields {
		fv, ok := fieldByIndex(v, f.index)
		if !ok || (f.omitEmpty && fv.IsZero()) {
			continue
		}
		vals[i] = fv
		n++
	}
	e.mapLen(n)
	for i, f := range fields {
		if !vals[i].IsValid() {
			continue
		}
		e.str(f.name)
		if err := e.value(vals[i], depth+1); err != nil {
			return at("."+f.name, err)
		}
	}
	return nil
}

// fieldByIndex is v.FieldByIndex that reports false through a nil embedded
// pointer instead of panicking.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func (e *encoder) ext(id int8, p []byte) {
	switch len(p) {
	case 1:
		e.b = append(e.b, 0xd4, byte(id))
	case 2:
		e.b = append(e.b, 0xd5, byte(id))
	case 4:
		e.b = append(e.b, 0xd6, byte(id))
	case 8:
		e.b = append(e.b, 0xd7, byte(id))
	case 16:
		e.b = append(e.b, 0xd8, byte(id))
	default:
		e.b = append(e.b, 0xc7, byte(len(p)), byte(id))
	}
	e.b = append(e.b, p...)
}

func (e *encoder) int(n int64) {
	switch {
	case n >= 0:
		e.uint(uint64(n))
	case n >= -32:
		e.b = append(e.b, byte(int8(n)))
	case n >= math.MinInt8:
		e.b = append(e.b, 0xd0, byte(int8(n)))
	case n >= math.MinInt16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xd2), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0xd3), uint64(n))
	}
}

func (e *encoder) uint(n uint64) {
	switch {
	case n <= 0x7f:
		e.b = append(e.b, byte(n))
	case n <= math.MaxUint8:
		e.b = append(e.b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xce), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0xcf), n)
	}
}

// head writes a length header: fix (with its base code) below fixMax, else
// the 8-, 16- or 32-bit form (code8 0 means there is none).
func (e *encoder) head(n int, fixBase byte, fixMax int, code8, code16, code32 byte) {
	switch {
	case n < fixMax:
		e.b = append(e.b, fixBase|byte(n))
	case code8 != 0 && n <= math.MaxUint8:
		e.b = append(e.b, code8, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, code16), uint16(n))
	default:
		e.b = binary.BigEndian.AppendUint32(append(e.b, code32), uint32(n))
	}
}

func (e *encoder) str(s string) {
	e.head(len(s), 0xa0, 32, 0xd9, 0xda, 0xdb)
	e.b = append(e.b, s...)
}

func (e *encoder) bin(b []byte) {
	e.head(len(b), 0xc4, 0, 0xc4, 0xc5, 0xc6)
	e.b = append(e.b, b...)
}

func (e *encoder) arrayLen(n int) { e.head(n, 0x90, 16, 0, 0xdc, 0xdd) }
func (e *encoder) mapLen(n int)   { e.head(n, 0x80, 16, 0, 0xde, 0xdf) }

// field is one struct field in the message: its name and where it is.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists the fields of struct type t that a message carries.
func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var out []field
	depthOf := map[string]int{}
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		if depth > 8 {
			return
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("msgpack")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(slices.Clone(index), i)
			ft := sf.Type
			if sf.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct && ft != typeTime && ft != typeUndefined {
					walk(ft, idx, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if d, ok := depthOf[name]; ok && d <= depth {
				continue // a shallower field of this name wins
			}
			depthOf[name] = depth
			out = slices.DeleteFunc(out, func(f field) bool { return f.name == name })
			out = append(out, field{name: name, index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
		}
	}
	walk(t, nil, 0)
	fs, _ := fieldCache.LoadOrStore(t, out)
	return fs.([]field)
}
