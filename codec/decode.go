package codec

import (
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
)

// Unmarshal decodes the message data into the value out points to. A
// capability in data is an error wrapping ErrNoEnvelope: use Decode.
func Unmarshal(data []byte, out any) error {
	if err := decode(data, nil, false, out); err != nil {
		return fmt.Errorf("codec: unmarshal: %w", err)
	}
	return nil
}

// Decode decodes the message in env into the value out points to; a
// capability in it becomes one of env.Caps().
func Decode(env *mailbox.Envelope, out any) error {
	if env == nil {
		return errors.New("codec: decode: no envelope")
	}
	if err := decode(env.Data(), env.Caps(), true, out); err != nil {
		return fmt.Errorf("codec: decode: %w", err)
	}
	return nil
}

func decode(data []byte, caps []*capability.Capability, envelope bool, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("want a non-nil pointer to decode into, got %T", out)
	}
	d := decoder{b: data, caps: caps, envelope: envelope}
	if err := d.value(rv.Elem(), 0); err != nil {
		return err
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%w: %d bytes after the value", ErrMalformed, len(d.b)-d.off)
	}
	return nil
}

type decoder struct {
	b        []byte
	off      int
	caps     []*capability.Capability
	envelope bool
}

// kind is the kind of one MessagePack item.
type kind uint8

const (
	kNil kind = iota
	kBool
	kInt
	kUint
	kFloat
	kStr
	kBin
	kArray
	kMap
	kUndefined
	kDate
	kCap
)

var kindNames = [...]string{"nil", "a boolean", "an integer", "an integer", "a number", "a string", "bytes", "an array", "a map", "undefined", "a Date", "a capability"}

func (k kind) String() string { return kindNames[k] }

// item is one MessagePack item read: a scalar, or the header of an array or
// map whose n elements follow.
type item struct {
	kind kind
	b    bool
	i    int64
	u    uint64
	f    float64
	s    []byte // str or bin; aliases the input
	n    int
	t    time.Time
	ok   bool // a valid Date
	c    *capability.Capability
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

var errTruncated = malformed("truncated")

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, errTruncated
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) uintN(size int) (uint64, error) {
	p, err := d.take(size)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, x := range p {
		v = v<<8 | uint64(x)
	}
	return v, nil
}

// length reads an n-byte length and checks that at least per*n bytes remain.
func (d *decoder) length(size, per int) (int, error) {
	v, err := d.uintN(size)
	if err != nil {
		return 0, err
	}
	if v > uint64(len(d.b)-d.off)/uint64(per) {
		return 0, errTruncated
	}
	return int(v), nil
}

// next reads one item.
func (d *decoder) next() (item, error) {
	p, err := d.take(1)
	if err != nil {
		return item{}, err
	}
	c := p[0]
	switch {
	case c <= 0x7f:
		return item{kind: kUint, u: uint64(c)}, nil
	case c >= 0xe0:
		return item{kind: kInt, i: int64(int8(c))}, nil
	case c >= 0xa0 && c <= 0xbf:
		return d.bytes(kStr, int(c&0x1f))
	case c >= 0x90 && c <= 0x9f:
		return item{kind: kArray, n: int(c & 0x0f)}, d.room(int(c&0x0f), 1)
	case c >= 0x80 && c <= 0x8f:
		return item{kind: kMap, n: int(c & 0x0f)}, d.room(int(c&0x0f), 2)
	}
	switch c {
	case 0xc0:
		return item{kind: kNil}, nil
	case 0xc2, 0xc3:
		return item{kind: kBool, b: c == 0xc3}, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := d.uintN(1 << (c - 0xcc))
		return item{kind: kUint, u: v}, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		v, err := d.uintN(size)
		shift := 64 - 8*size
		return item{kind: kInt, i: int64(v<<shift) >> shift}, err
	case 0xca:
		v, err := d.uintN(4)
		return item{kind: kFloat, f: float64(math.Float32frombits(uint32(v)))}, err
	case 0xcb:
		v, err := d.uintN(8)
		return item{kind: kFloat, f: math.Float64frombits(v)}, err
	case 0xd9, 0xda, 0xdb:
		n, err := d.length(1<<(c-0xd9), 1)
		if err != nil {
			return item{}, err
		}
		return d.bytes(kStr, n)
	case 0xc4, 0xc5, 0xc6:
		n, err := d.length(1<<(c-0xc4), 1)
		if err != nil {
			return item{}, err
		}
		return d.bytes(kBin, n)
	case 0xdc, 0xdd:
		n, err := d.length(2<<(c-0xdc), 1)
		return item{kind: kArray, n: n}, err
	case 0xde, 0xdf:
		n, err := d.length(2<<(c-0xde), 2)
		return item{kind: kMap, n: n}, err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(1 << (c - 0xd4))
	case 0xc7, 0xc8, 0xc9:
		n, err := d.length(1<<(c-0xc7), 1)
		if err != nil {
			return item{}, err
		}
		return d.ext(n)
	}
	return item{}, malformed("byte 0x%02x at offset %d", c, d.off-1)
}

func (d *decoder) room(n, per int) error {
	if n*per > len(d.b)-d.off {
		return errTruncated
	}
	return nil
}

func (d *decoder) bytes(k kind, n int) (item, error) {
	p, err := d.take(n)
	return item{kind: k, s: p}, err
}

func (d *decoder) ext(n int) (item, error) {
	idp, err := d.take(1)
	if err != nil {
		return item{}, err
	}
	id := int8(idp[0])
	p, err := d.take(n)
	if err != nil {
		return item{}, err
	}
	bad := func() (item, error) { return item{}, malformed("extension type %d of %d bytes", id, n) }
	switch id {
	case ExtUndefined:
		if n != UndefinedLen {
			return bad()
		}
		return item{kind: kUndefined}, nil
	case ExtDate:
		if n != DateLen {
			return bad()
		}
		t, ok := DateTime(math.Float64frombits(binary.BigEndian.Uint64(p)))
		return item{kind: kDate, t: t, ok: ok}, nil
	case ExtTimestamp:
		var sec, nsec int64
		switch n {
		case 4:
			sec = int64(binary.BigEndian.Uint32(p))
		case 8:
			v := binary.BigEndian.Uint64(p)
			nsec, sec = int64(v>>34), int64(v&(1<<34-1))
		case 12:
			nsec, sec = int64(binary.BigEndian.Uint32(p)), int64(binary.BigEndian.Uint64(p[4:]))
		default:
			return bad()
		}
		if nsec >= 1e9 {
			return item{}, malformed("timestamp with %d nanoseconds", nsec)
		}
		t, ok := DateTime(float64(sec)*1000 + float64(nsec/1e6))
		return item{kind: kDate, t: t, ok: ok}, nil
	case ExtCapability:
		if n != CapabilityLen {
			return bad()
		}
		if !d.envelope {
			return item{}, ErrNoEnvelope
		}
		i := binary.BigEndian.Uint32(p)
		if uint64(i) >= uint64(len(d.caps)) {
			return item{}, malformed("capability %d of an envelope that carries %d", i, len(d.caps))
		}
		return item{kind: kCap, c: d.caps[i]}, nil
	}
	return item{}, malformed("unknown extension type %d", id)
}

func (d *decoder) enter(depth int) error {
	if depth >= MaxDepth {
		return malformed("nested more than %d deep", MaxDepth)
	}
	return nil
}

// skip reads past the n elements of a container.
func (d *decoder) skip(it item, depth int) error {
	n := it.n
	switch it.kind {
	case kMap:
		n *= 2
	case kArray:
	default:
		return nil
	}
	if err := d.enter(depth); err != nil {
		return err
	}
	for range n {
		el, err := d.next()
		if err != nil {
			return err
		}
		if err := d.skip(el, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// generic reads the rest of it as the value it is in any.
func (d *decoder) generic(it item, depth int) (any, error) {
	switch it.kind {
	case kNil:
		return nil, nil
	case kBool:
		return it.b, nil
	case kInt:
		return it.i, nil
	case kUint:
		if it.u > math.MaxInt64 {
			return it.u, nil
		}
		return int64(it.u), nil
	case kFloat:
		return it.f, nil
	case kStr:
		return string(it.s), nil
	case kBin:
		return append([]byte{}, it.s...), nil
	case kUndefined:
		return Undefined{}, nil
	case kDate:
		return it.t, nil
	case kCap:
		return it.c, nil
	case kArray:
		if err := d.enter(depth); err != nil {
			return nil, err
		}
		a := make([]any, it.n)
		for i := range a {
			el, err := d.next()
			if err == nil {
				a[i], err = d.generic(el, depth+1)
			}
			if err != nil {
				return nil, at("["+strconv.Itoa(i)+"]", err)
			}
		}
		return a, nil
	}
	// kMap
	if err := d.enter(depth); err != nil {
		return nil, err
	}
	m := make(map[string]any, it.n)
	for range it.n {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		el, err := d.next()
		if err == nil {
			m[k], err = d.generic(el, depth+1)
		}
		if err != nil {
			return nil, at("."+k, err)
		}
	}
	return m, nil
}

// key reads a map key as a string: strings as they are, numbers, booleans
// and nil in their JS string form.
func (d *decoder) key() (string, error) {
	it, err := d.next()
	if err != nil {
		return "", err
	}
	switch it.kind {
	case kStr:
		return string(it.s), nil
	case kNil:
		return "null", nil
	case kBool:
		return strconv.FormatBool(it.b), nil
	case kInt:
		return strconv.FormatInt(it.i, 10), nil
	case kUint:
		return strconv.FormatUint(it.u, 10), nil
	case kFloat:
		return strconv.FormatFloat(it.f, 'g', -1, 64), nil
	}
	return "", malformed("a map key that is %s", it.kind)
}

// value reads one value into v.
func (d *decoder) value(v reflect.Value, depth int) error {
	it, err := d.next()
	if err != nil {
		return err
	}
	return d.into(v, it, depth)
}

func mismatch(it item, t reflect.Type) error {
	return fmt.Errorf("cannot put %s into %s", it.kind, t)
}

// into stores it (and, for a container, the elements that follow) in v.
func (d *decoder) into(v reflect.Value, it item, depth int) error {
	t := v.Type()
	if it.kind == kNil || it.kind == kUndefined {
		switch t {
		case typeUndefined:
			return nil
		}
		if t.Kind() == reflect.Interface && it.kind == kUndefined {
			if !typeUndefined.Implements(t) {
				return mismatch(it, t)
			}
			v.Set(reflect.ValueOf(Undefined{}))
			return nil
		}
		v.SetZero()
		return nil
	}
	switch t {
	case typeTime:
		if it.kind != kDate {
			return mismatch(it, t)
		}
		v.Set(reflect.ValueOf(it.t))
		return nil
	case typeCap:
		if it.kind != kCap {
			return mismatch(it, t)
		}
		v.Set(reflect.ValueOf(it.c))
		return nil
	case typeUndefined:
		return mismatch(it, t)
	}
	switch t.Kind() {
	case reflect.Interface:
		g, err := d.generic(it, depth)
		if err != nil {
			return err
		}
		gv := reflect.ValueOf(g)
		if !gv.Type().Implements(t) {
			return fmt.Errorf("cannot put %s into %s", gv.Type(), t)
		}
		v.Set(gv)
		return nil
	case reflect.Pointer:
		if err := d.enter(depth); err != nil {
			return err
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.into(v.Elem(), it, depth+1)
	case reflect.Bool:
		if it.kind != kBool {
			return mismatch(it, t)
		}
		v.SetBool(it.b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := asInt(it)
		if !ok || v.OverflowInt(n) {
			return numberError(it, t)
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := asUint(it)
		if !ok || v.OverflowUint(n) {
			return numberError(it, t)
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch it.kind {
		case kFloat:
			f = it.f
		case kInt:
			f = float64(it.i)
		case kUint:
			f = float64(it.u)
		default:
			return mismatch(it, t)
		}
		if t.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return numberError(it, t)
		}
		v.SetFloat(f)
		return nil
	case reflect.String:
		if it.kind != kStr {
			return mismatch(it, t)
		}
		v.SetString(string(it.s))
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && (it.kind == kBin || it.kind == kStr) {
			v.SetBytes(append([]byte{}, it.s...))
			return nil
		}
		if it.kind != kArray {
			return mismatch(it, t)
		}
		if err := d.enter(depth); err != nil {
			return err
		}
		s := reflect.MakeSlice(t, it.n, it.n)
		for i := range it.n {
			if err := d.value(s.Index(i), depth+1); err != nil {
				return at("["+strconv.Itoa(i)+"]", err)
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && it.kind == kBin {
			if len(it.s) != t.Len() {
				return fmt.Errorf("cannot put %d bytes into %s", len(it.s), t)
			}
			reflect.Copy(v, reflect.ValueOf(it.s))
			return nil
		}
		if it.kind != kArray {
			return mismatch(it, t)
		}
		if it.n != t.Len() {
			return fmt.Errorf("cannot put an array of %d into %s", it.n, t)
		}
		if err := d.enter(depth); err != nil {
			return err
		}
		for i := range it.n {
			if err := d.value(v.Index(i), depth+1); err != nil {
				return at("["+strconv.Itoa(i)+"]", err)
			}
		}
		return nil
	case reflect.Map:
		return d.mapInto(v, it, depth)
	case reflect.Struct:
		return d.structInto(v, it, depth)
	}
	return fmt.Errorf("%w: %s", ErrUnsupported, t)
}

func asInt(it item) (int64, bool) {
	switch it.kind {
	case kInt:
		return it.i, true
	case kUint:
		return int64(it.u), it.u <= math.MaxInt64
	case kFloat:
		if it.f == math.Trunc(it.f) && it.f >= -(1<<63) && it.f < 1<<63 {
			return int64(it.f), true
		}
	}
	return 0, false
}

func asUint(it item) (uint64, bool) {
	switch it.kind {
	case kInt:
		return uint64(it.i), it.i >= 0
	case kUint:
		return it.u, true
	case kFloat:
		if it.f == math.Trunc(it.f) && it.f >= 0 && it.f < 1<<64 {
			return uint64(it.f), true
		}
	}
	return 0, false
}

func numberError(it item, t reflect.Type) error {
	switch it.kind {
	case kInt:
		return fmt.Errorf("%d does not fit %s", it.i, t)
	case kUint:
		return fmt.Errorf("%d does not fit %s", it.u, t)
	case kFloat:
		return fmt.Errorf("%v does not fit %s", it.f, t)
	}
	return mismatch(it, t)
}

func (d *decoder) mapInto(v reflect.Value, it item, depth int) error {
	t := v.Type()
	if it.kind != kMap {
		return mismatch(it, t)
	}
	if err := d.enter(depth); err != nil {
		return err
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, it.n))
	}
	kt, et := t.Key(), t.Elem()
	for range it.n {
		ks, err := d.key()
		if err != nil {
			return err
		}
		kv := reflect.New(kt).Elem()
		if err := setKey(kv, ks); err != nil {
			return at("."+ks, err)
		}
		ev := reflect.New(et).Elem()
		if err := d.value(ev, depth+1); err != nil {
			return at("."+ks, err)
		}
		v.SetMapIndex(kv, ev)
	}
	return nil
}

// setKey stores the map key s in k.
func setKey(k reflect.Value, s string) error {
	switch k.Kind() {
	case reflect.String:
		k.SetString(s)
		return nil
	case reflect.Interface:
		if reflect.TypeFor[string]().Implements(k.Type()) {
			k.Set(reflect.ValueOf(s))
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || k.OverflowInt(n) {
			return fmt.Errorf("key %q is not %s", s, k.Type())
		}
		k.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || k.OverflowUint(n) {
			return fmt.Errorf("key %q is not %s", s, k.Type())
		}
		k.SetUint(n)
		return nil
	}
	return fmt.Errorf("%w: map key of type %s", ErrUnsupported, k.Type())
}

func (d *decoder) structInto(v reflect.Value, it item, depth int) error {
	t := v.Type()
	if it.kind != kMap {
		return mismatch(it, t)
	}
	if err := d.enter(depth); err != nil {
		return err
	}
	fields := fieldsOf(t)
	for range it.n {
		k, err := d.key()
		if err != nil {
			return err
		}
		f := findField(fields, k)
		if f == nil {
			el, err := d.next()
			if err == nil {
				err = d.skip(el, depth+1)
			}
			if err != nil {
				return at("."+k, err)
			}
			continue
		}
		fv, err := fieldForSet(v, f.index)
		if err == nil {
			err = d.value(fv, depth+1)
		}
		if err != nil {
			return at("."+k, err)
		}
	}
	return nil
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	for i := range fields {
		if strings.EqualFold(fields[i].name, name) {
			return &fields[i]
		}
	}
	return nil
}

// fieldForSet walks to a field, allocating nil embedded pointers.
func fieldForSet(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("cannot set a field through the nil embedded %s", v.Type())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
