package isolate

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// FuzzCodec_Decode feeds arbitrary bytes to decodeValue: it must return an
// error or a value, never panic; it must accept exactly what the msgpack
// library reads as one whole value, short of the format's own refusals
// (limits, unknown extensions, unsupported keys), and what it makes of it
// must be what the library reads (sameAsMsgpack); a value it returns must
// encode again, and that encoding must be a fixed point (decoding and
// encoding it gives the same bytes).
func FuzzCodec_Decode(f *testing.F) {
	r := goja.New()
	for _, src := range []string{
		`null`, `undefined`, `true`, `0`, `-1`, `300`, `2**53`, `-0`, `NaN`, `0.1`, `"inc"`, `"héllo 😀"`,
		`{type: "inc", by: 2}`,
		`{a: [1, , "x", null, undefined, {b: {c: [new Uint8Array([1, 2, 3])]}}], d: new Date(1700000000123), e: new Date(NaN)}`,
		`[[[[[[]]]]], {}, ""]`,
		`Object.defineProperty({}, "__proto__", {value: {x: 1}, enumerable: true})`,
		`new TypeError("bad")`,
	} {
		v, err := r.RunString("(" + src + ")")
		if err != nil {
			f.Fatal(err)
		}
		data, err := encodeValue(r, v, codecLimits{}, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, garbage := range [][]byte{
		{},
		{0xc1},
		{0xdd, 0xff, 0xff, 0xff, 0xff, 0x00},
		{0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00},
		{0xdb, 0xff, 0xff, 0xff, 0xff},
		{0xc9, 0x00, 0x00, 0x00, 0x04, 0x02, 0, 0, 0, 1},
		{0xd6, 0x02, 0, 0, 0, 0},
		{0xd6, 0xff, 0, 0, 0, 1},
		{0xd7, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1},
		{0x82, 0x01, 0x02, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 0x03},
		{0x81, 0xa9, '_', '_', 'p', 'r', 'o', 't', 'o', '_', '_', 0x81, 0xa1, 'x', 0x01},
		bytes.Repeat([]byte{0x91}, 40),
		{0xa3, 0xed, 0xa0, 0x80},
		{0xca, 0x7f, 0xc0, 0x00, 0x00},
	} {
		f.Add(garbage)
	}

	lim := codecLimits{MaxBytes: 1 << 16, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := goja.New()
		var caps []*goja.Object
		capAt := func(i uint32) (goja.Value, error) {
			if i >= 3 {
				return nil, fmt.Errorf("capability index %d out of range", i)
			}
			c := r.NewObject()
			caps = append(caps, c)
			return c, nil
		}
		v, err := decodeValue(r, data, lim, capAt)
		// The msgpack library's reading of the same bytes: a value that
		// is whole and alone, or not.
		rd := bytes.NewReader(data)
		whole := msgpack.NewDecoder(rd).Skip() == nil && rd.Len() == 0
		if err != nil {
			if !errors.Is(err, errMalformedMessage) {
				t.Fatalf("error %v does not wrap errMalformedMessage", err)
			}
			if v != nil {
				t.Fatalf("value %v returned with error %v", v, err)
			}
			msg := err.Error()
			syntax := strings.Contains(msg, "truncated") || strings.Contains(msg, "invalid msgpack code") || strings.Contains(msg, "trailing bytes")
			if whole && syntax {
				t.Fatalf("%x is one whole msgpack value, but decoding it failed with %v", data, err)
			}
			return
		}
		if !whole {
			t.Fatalf("decoded %x, which is not one whole msgpack value", data)
		}
		if err := sameAsMsgpack(r, msgpack.NewDecoder(bytes.NewReader(data)), v, true); err != nil {
			t.Fatalf("decoded %x unlike the msgpack library reads it: %v", data, err)
		}
		onCap := func(o *goja.Object) (uint32, bool) {
			for i, c := range caps {
				if c == o {
					return uint32(i % 3), true
				}
			}
			return 0, false
		}
		// Re-encoding can grow: float32 becomes float64, keys become
		// strings, invalid UTF-8 becomes U+FFFD.
		big := codecLimits{MaxBytes: 16*len(data) + 64, MaxDepth: lim.MaxDepth}
		once, err := encodeValue(r, v, big, onCap)
		if err != nil {
			t.Fatalf("decoded %x but cannot encode it again: %v", data, err)
		}
		caps = caps[:0]
		v2, err := decodeValue(r, once, big, capAt)
		if err != nil {
			t.Fatalf("cannot decode re-encoding %x of %x: %v", once, data, err)
		}
		twice, err := encodeValue(r, v2, big, onCap)
		if err != nil {
			t.Fatalf("second re-encoding of %x: %v", data, err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("encoding is not a fixed point for %x:\n%x\n%x", data, once, twice)
		}
	})
}

// sameAsMsgpack reads the next MessagePack value of dec with the msgpack
// library and reports how it differs from v, the value decodeValue made of
// the same bytes: a differential check of the decoder's own reader. Values
// the format leaves to the receiver (capabilities, timestamps) are only
// read; so are the values under a map whose keys repeat or are not strings.
func sameAsMsgpack(r *goja.Runtime, dec *msgpack.Decoder, v goja.Value, check bool) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	num := func(f float64) error {
		if check && !(v.ToFloat() == f || math.IsNaN(f) && math.IsNaN(v.ToFloat())) {
			return fmt.Errorf("number %v decoded as %v", f, v)
		}
		if check && !goja.IsNumber(v) {
			return fmt.Errorf("number %v decoded as %v", f, v)
		}
		return nil
	}
	switch {
	case c == msgpcode.Nil:
		_ = dec.Skip()
		if check && !goja.IsNull(v) {
			return fmt.Errorf("nil decoded as %v", v)
		}
	case c == msgpcode.True || c == msgpcode.False:
		b, _ := dec.DecodeBool()
		if check && (v.ExportType() != exportBool || v.ToBoolean() != b) {
			return fmt.Errorf("%v decoded as %v", b, v)
		}
	case c == msgpcode.Uint64:
		u, err := dec.DecodeUint64()
		if err != nil {
			return err
		}
		return num(float64(u))
	case msgpcode.IsFixedNum(c) || c >= msgpcode.Uint8 && c <= msgpcode.Int64 && c != msgpcode.Float && c != msgpcode.Double:
		n, err := dec.DecodeInt64()
		if err != nil {
			return err
		}
		return num(float64(n))
	case c == msgpcode.Float:
		f, err := dec.DecodeFloat32()
		if err != nil {
			return err
		}
		return num(float64(f))
	case c == msgpcode.Double:
		f, err := dec.DecodeFloat64()
		if err != nil {
			return err
		}
		return num(f)
	case msgpcode.IsString(c):
		b, err := dec.DecodeBytes()
		if err != nil {
			return err
		}
		if s := strings.ToValidUTF8(string(b), "\uFFFD"); check && (!goja.IsString(v) || v.String() != s) {
			return fmt.Errorf("string %q decoded as %v", s, v)
		}
	case msgpcode.IsBin(c):
		b, err := dec.DecodeBytes()
		if err != nil {
			return err
		}
		if check {
			if got, _ := v.Export().([]byte); !bytes.Equal(got, b) {
				return fmt.Errorf("bytes %x decoded as %v", b, v)
			}
		}
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return err
		}
		o, _ := v.(*goja.Object)
		if check && (o == nil || o.Get("length").ToInteger() != int64(n)) {
			return fmt.Errorf("array of %d decoded as %v", n, v)
		}
		for i := 0; i < n; i++ {
			var e goja.Value
			if check {
				e = o.Get(strconv.Itoa(i))
			}
			if err := sameAsMsgpack(r, dec, e, check); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		raw, err := dec.DecodeRaw()
		if err != nil {
			return err
		}
		// First the keys, to know which repeat; then the values.
		keys := msgpack.NewDecoder(bytes.NewReader(raw))
		n, _ := keys.DecodeMapLen()
		seen := map[string]int{}
		plain := true
		for i := 0; i < n; i++ {
			if kc, _ := keys.PeekCode(); !msgpcode.IsString(kc) {
				plain = false
				_ = keys.Skip()
			} else {
				k, _ := keys.DecodeBytes()
				seen[strings.ToValidUTF8(string(k), "\uFFFD")]++
			}
			_ = keys.Skip()
		}
		o, _ := v.(*goja.Object)
		if check && (o == nil || plain && len(o.Keys()) != len(seen)) {
			return fmt.Errorf("map of %d distinct keys decoded as %v", len(seen), v)
		}
		vals := msgpack.NewDecoder(bytes.NewReader(raw))
		_, _ = vals.DecodeMapLen()
		for i := 0; i < n; i++ {
			var k string
			if kc, _ := vals.PeekCode(); msgpcode.IsString(kc) {
				b, _ := vals.DecodeBytes()
				k = strings.ToValidUTF8(string(b), "\uFFFD")
			} else {
				_ = vals.Skip()
			}
			var e goja.Value
			sub := check && plain && seen[k] == 1
			if sub {
				e = o.Get(k)
			}
			if err := sameAsMsgpack(r, vals, e, sub); err != nil {
				return fmt.Errorf(".%q: %w", k, err)
			}
		}
	case msgpcode.IsExt(c):
		id, n, err := dec.DecodeExtHeader()
		if err != nil {
			return err
		}
		if err := dec.ReadFull(make([]byte, n)); err != nil {
			return err
		}
		if check && id == extUndefined && !goja.IsUndefined(v) {
			return fmt.Errorf("undefined decoded as %v", v)
		}
	default:
		return fmt.Errorf("code 0x%02x", c)
	}
	return nil
}
