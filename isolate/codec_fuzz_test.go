package isolate

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/dop251/goja"
)

// FuzzCodec_Decode feeds arbitrary bytes to decodeValue: it must return an
// error or a value, never panic; a value it returns must encode again, and
// that encoding must be a fixed point (decoding and encoding it gives the
// same bytes).
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
		if err != nil {
			if !errors.Is(err, errMalformedMessage) {
				t.Fatalf("error %v does not wrap errMalformedMessage", err)
			}
			if v != nil {
				t.Fatalf("value %v returned with error %v", v, err)
			}
			return
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
