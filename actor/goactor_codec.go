package actor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// How a Go actor's values become messages and back. A message is msgpack
// with three extension types that a stock decoder does not know: JS
// undefined, a capability (an index into the envelope's capabilities) and a
// Date. This file maps them to nil, *capability.Capability and time.Time
// without registering anything with the msgpack package, which is global.
//
// Decoding builds a generic value first (nil, bool, int64, uint64, float64,
// string, []byte, time.Time, *capability.Capability, []any, map[string]any)
// and then, unless out is a *any, assigns it to out by reflection: struct
// fields by their msgpack tag or their name, maps with string keys, slices,
// arrays, numbers that fit, pointers.

// Extension types of the message format; see isolate/codec.go.
const (
	goExtUndefined  int8 = 1
	goExtCapability int8 = 2
	goExtDate       int8 = 3
	goExtTimestamp  int8 = -1
)

// maxGoDepth bounds the nesting of a message a Go actor sends or decodes,
// as a script's messages are bounded.
const maxGoDepth = 64

var (
	capType  = reflect.TypeOf((*capability.Capability)(nil))
	timeType = reflect.TypeOf(time.Time{})
)

// errDecode is wrapped by every error of Context.Decode and Context.Call's
// decoding of the answer.
var errDecode = errors.New("decode")

// encodeGo encodes v as a message, transferring the capabilities inside it.
// A message larger than maxBytes is refused.
func encodeGo(v any, maxBytes int) (*mailbox.Envelope, error) {
	var buf bytes.Buffer
	e := &goEncoder{enc: msgpack.NewEncoder(&buf), max: maxBytes, buf: &buf}
	e.enc.UseCompactInts(true)
	if err := e.value(reflect.ValueOf(v), 0, "msg"); err != nil {
		return nil, err
	}
	if maxBytes > 0 && buf.Len() > maxBytes {
		return nil, fmt.Errorf("cannot send msg: %d bytes, over the limit of %d", buf.Len(), maxBytes)
	}
	return mailbox.NewEnvelope(buf.Bytes(), e.caps), nil
}

type goEncoder struct {
	enc  *msgpack.Encoder
	buf  *bytes.Buffer
	max  int
	caps []*capability.Capability
}

func (e *goEncoder) value(v reflect.Value, depth int, path string) error {
	if depth > maxGoDepth {
		return fmt.Errorf("cannot send %s: nested more than %d deep", path, maxGoDepth)
	}
	if e.max > 0 && e.buf.Len() > e.max {
		return fmt.Errorf("cannot send %s: over the limit of %d bytes", path, e.max)
	}
	if !v.IsValid() {
		return e.enc.EncodeNil()
	}
	switch v.Type() {
	case capType:
		if v.IsNil() {
			return e.enc.EncodeNil()
		}
		e.caps = append(e.caps, v.Interface().(*capability.Capability))
		if err := e.enc.EncodeExtHeader(goExtCapability, 4); err != nil {
			return err
		}
		return binary.Write(e.buf, binary.BigEndian, uint32(len(e.caps)-1))
	case timeType:
		t := v.Interface().(time.Time)
		if err := e.enc.EncodeExtHeader(goExtDate, 8); err != nil {
			return err
		}
		ms := float64(t.UnixMilli()) // a Date holds whole milliseconds
		return binary.Write(e.buf, binary.BigEndian, math.Float64bits(ms))
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return e.enc.EncodeNil()
		}
		return e.value(v.Elem(), depth+1, path)
	case reflect.Struct:
		fields := structFields(v.Type())
		n := 0
		for _, f := range fields {
			if !f.omitEmpty || !v.FieldByIndex(f.index).IsZero() {
				n++
			}
		}
		if err := e.enc.EncodeMapLen(n); err != nil {
			return err
		}
		for _, f := range fields {
			fv := v.FieldByIndex(f.index)
			if f.omitEmpty && fv.IsZero() {
				continue
			}
			if err := e.enc.EncodeString(f.name); err != nil {
				return err
			}
			if err := e.value(fv, depth+1, path+"."+f.name); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if v.IsNil() {
			return e.enc.EncodeNil()
		}
		if err := e.enc.EncodeMapLen(v.Len()); err != nil {
			return err
		}
		it := v.MapRange()
		for it.Next() {
			k, err := mapKey(it.Key())
			if err != nil {
				return fmt.Errorf("cannot send %s: %w", path, err)
			}
			if err := e.enc.EncodeString(k); err != nil {
				return err
			}
			if err := e.value(it.Value(), depth+1, path+"["+strconv.Quote(k)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return e.enc.EncodeNil()
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return e.enc.EncodeBytes(b)
		}
		if err := e.enc.EncodeArrayLen(v.Len()); err != nil {
			return err
		}
		for i := 0; i < v.Len(); i++ {
			if err := e.value(v.Index(i), depth+1, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Bool:
		return e.enc.EncodeBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.enc.EncodeInt(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return e.enc.EncodeUint(v.Uint())
	case reflect.Float32, reflect.Float64:
		return e.enc.EncodeFloat64(v.Float())
	case reflect.String:
		return e.enc.EncodeString(v.String())
	}
	return fmt.Errorf("cannot send %s: a Go %s has no message form", path, v.Type())
}

func mapKey(k reflect.Value) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("a map key of type %s (want a string or an integer)", k.Type())
}

// field is a struct field as a message sees it.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

// structFields lists t's exported fields under their msgpack tag's name or
// their own; an untagged embedded struct's fields are inlined.
func structFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("msgpack")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			for _, f := range structFields(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, index: []int{i}, omitEmpty: strings.Contains(opts, "omitempty")})
	}
	return out
}

// decodeGo decodes env into out, a non-nil pointer. A nil envelope (no
// message, no init arguments) decodes as nil.
func decodeGo(env *mailbox.Envelope, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: want a non-nil pointer, got %T", errDecode, out)
	}
	var tree any
	if env != nil {
		r := bytes.NewReader(env.Data())
		d := &goDecoder{r: r, dec: msgpack.NewDecoder(r), caps: env.Caps()}
		var err error
		if tree, err = d.value(0); err != nil {
			return fmt.Errorf("%w: %w", errDecode, err)
		}
		if r.Len() > 0 {
			return fmt.Errorf("%w: %d bytes after the value", errDecode, r.Len())
		}
	}
	if err := assign(rv.Elem(), tree, "msg"); err != nil {
		return fmt.Errorf("%w: %w", errDecode, err)
	}
	return nil
}

type goDecoder struct {
	r    *bytes.Reader
	dec  *msgpack.Decoder
	caps []*capability.Capability
}

func (d *goDecoder) value(depth int) (any, error) {
	if depth > maxGoDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxGoDepth)
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		if n > d.r.Len() {
			return nil, fmt.Errorf("a map of %d entries in %d bytes", n, d.r.Len())
		}
		m := make(map[string]any, min(n, 64))
		for i := 0; i < n; i++ {
			k, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			var key string
			switch k := k.(type) {
			case string:
				key = k
			case nil, bool, int64, uint64, float64:
				key = fmt.Sprint(k)
			default:
				return nil, fmt.Errorf("a map key of type %T", k)
			}
			if m[key], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		if n > d.r.Len() {
			return nil, fmt.Errorf("an array of %d elements in %d bytes", n, d.r.Len())
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	case msgpcode.IsExt(c):
		id, n, err := d.dec.DecodeExtHeader()
		if err != nil {
			return nil, err
		}
		if n > 16 || n > d.r.Len() {
			return nil, fmt.Errorf("extension %d of %d bytes", id, n)
		}
		b := make([]byte, n)
		if err := d.dec.ReadFull(b); err != nil {
			return nil, err
		}
		return d.ext(id, b)
	case msgpcode.IsBin(c):
		return d.dec.DecodeBytes()
	}
	v, err := d.dec.DecodeInterfaceLoose()
	if err != nil {
		return nil, err
	}
	if f, ok := v.(float32); ok {
		return float64(f), nil
	}
	return v, nil
}

func (d *goDecoder) ext(id int8, b []byte) (any, error) {
	switch {
	case id == goExtUndefined && len(b) == 0:
		return nil, nil
	case id == goExtCapability && len(b) == 4:
		i := binary.BigEndian.Uint32(b)
		if int(i) >= len(d.caps) {
			return nil, fmt.Errorf("capability index %d out of range", i)
		}
		return d.caps[i], nil
	case id == goExtDate && len(b) == 8:
		ms := math.Float64frombits(binary.BigEndian.Uint64(b))
		if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 {
			return time.Time{}, nil // an invalid Date
		}
		return time.UnixMilli(int64(ms)), nil
	case id == goExtTimestamp && len(b) == 4:
		return time.Unix(int64(binary.BigEndian.Uint32(b)), 0), nil
	case id == goExtTimestamp && len(b) == 8:
		x := binary.BigEndian.Uint64(b)
		return time.Unix(int64(x&(1<<34-1)), int64(x>>34)), nil
	case id == goExtTimestamp && len(b) == 12:
		return time.Unix(int64(binary.BigEndian.Uint64(b[4:])), int64(binary.BigEndian.Uint32(b))), nil
	}
	return nil, fmt.Errorf("unknown extension %d of %d bytes", id, len(b))
}

// assign stores the decoded value v in dst.
func assign(dst reflect.Value, v any, path string) error {
	t := dst.Type()
	if v == nil {
		dst.SetZero()
		return nil
	}
	mismatch := func() error {
		return fmt.Errorf("%s: cannot put %s into a Go %s", path, describe(v), t)
	}
	switch t {
	case capType:
		c, ok := v.(*capability.Capability)
		if !ok {
			return mismatch()
		}
		dst.Set(reflect.ValueOf(c))
		return nil
	case timeType:
		tm, ok := v.(time.Time)
		if !ok {
			return mismatch()
		}
		dst.Set(reflect.ValueOf(tm))
		return nil
	}
	switch t.Kind() {
	case reflect.Interface:
		rv := reflect.ValueOf(v)
		if !rv.Type().AssignableTo(t) {
			return mismatch()
		}
		dst.Set(rv)
		return nil
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := assign(p.Elem(), v, path); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		for _, f := range structFields(t) {
			fv, ok := m[f.name]
			if !ok {
				continue
			}
			if err := assign(dst.FieldByIndex(f.index), fv, path+"."+f.name); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, ev := range m {
			kv := reflect.New(t.Key()).Elem()
			var err error
			switch t.Key().Kind() {
			case reflect.String:
				kv.SetString(k)
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				var n int64
				if n, err = strconv.ParseInt(k, 10, 64); err == nil && kv.OverflowInt(n) {
					err = strconv.ErrRange
				}
				kv.SetInt(n)
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				var n uint64
				if n, err = strconv.ParseUint(k, 10, 64); err == nil && kv.OverflowUint(n) {
					err = strconv.ErrRange
				}
				kv.SetUint(n)
			default:
				return mismatch()
			}
			if err != nil {
				return fmt.Errorf("%s: key %q does not fit a Go %s", path, k, t.Key())
			}
			e := reflect.New(t.Elem()).Elem()
			if err := assign(e, ev, path+"["+strconv.Quote(k)+"]"); err != nil {
				return err
			}
			out.SetMapIndex(kv, e)
		}
		dst.Set(out)
		return nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			var b []byte
			switch x := v.(type) {
			case []byte:
				b = x
			case string:
				b = []byte(x)
			default:
				return mismatch()
			}
			if t.Kind() == reflect.Array {
				if len(b) != t.Len() {
					return mismatch()
				}
				reflect.Copy(dst, reflect.ValueOf(b))
				return nil
			}
			dst.Set(reflect.ValueOf(append([]byte(nil), b...)).Convert(t))
			return nil
		}
		a, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		out := dst
		if t.Kind() == reflect.Slice {
			out = reflect.MakeSlice(t, len(a), len(a))
		} else if len(a) != t.Len() {
			return mismatch()
		}
		for i, ev := range a {
			if err := assign(out.Index(i), ev, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		dst.Set(out)
		return nil
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch()
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return mismatch()
		}
		dst.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return mismatch()
			}
			n = int64(x)
		case float64:
			if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
				return mismatch()
			}
			n = int64(x)
		default:
			return mismatch()
		}
		if dst.OverflowInt(n) {
			return mismatch()
		}
		dst.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var n uint64
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return mismatch()
			}
			n = uint64(x)
		case uint64:
			n = x
		case float64:
			if x != math.Trunc(x) || x < 0 || x >= math.MaxUint64 {
				return mismatch()
			}
			n = uint64(x)
		default:
			return mismatch()
		}
		if dst.OverflowUint(n) {
			return mismatch()
		}
		dst.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := v.(type) {
		case int64:
			f = float64(x)
		case uint64:
			f = float64(x)
		case float64:
			f = x
		default:
			return mismatch()
		}
		dst.SetFloat(f)
		return nil
	}
	return mismatch()
}

// describe names a decoded value's kind for an error.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "an array"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case bool:
		return "a boolean"
	case int64, uint64, float64:
		return fmt.Sprintf("the number %v", v)
	case *capability.Capability:
		return "a capability"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("a %T", v)
}
