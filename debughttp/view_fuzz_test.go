package debughttp

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzView_Message feeds arbitrary bytes, as a crash report's message or
// an inspect() answer, to the JSON view: decoding never panics, an error
// has a message, and what decodes is written as valid JSON no deeper than
// the view's depth limit.
func FuzzView_Message(f *testing.F) {
	for _, v := range []any{
		nil, true, 1, -1, 1.5, "inc", []byte{1, 2, 3},
		map[string]any{"type": "inc", "by": 2},
		map[string]any{"a": []any{1, "x", nil, map[string]any{"b": map[string]any{"c": []any{[]byte{1}}}}}},
		map[any]any{1: "one", true: "yes", nil: "nil"},
		[]any{[]any{[]any{[]any{}}}, map[string]any{}, ""},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	deep := append(bytes.Repeat([]byte{0x91}, 100), 0xc0) // 100 nested one-element arrays
	for _, raw := range [][]byte{
		{},
		deep,
		{0xc1},
		{0xd4, 0x01, 0x00}, // undefined
		{0xd4, 0x02, 0x07}, // a capability
		{0xd7, 0x03, 0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0x00, 0x00}, // a Date
		{0xd7, 0x03, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // an invalid Date (NaN)
		{0xd6, 0xff, 0x00, 0x00, 0x00, 0x01},                         // a msgpack timestamp
		{0xc7, 0xff, 0x05},                                           // an extension claiming 255 bytes
		{0xd4, 0x7f, 0x00},                                           // an unknown extension
		{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0},                         // an array claiming 4G items
		{0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0},                   // a map claiming 4G entries
		{0x81, 0x91, 0x01, 0x02},                                     // a map with an array key
		{0xcb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01},       // NaN
		{0xcb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},       // +Inf
		{0xa3, 0xff, 0xfe, 0x80},                                     // a string of invalid UTF-8
		{0x92, 0x01},                                                 // truncated
		{0xc4, 0x03, 0x01, 0x02, 0x03, 0xc0},                         // trailing bytes
		{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},       // max uint64
	} {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := toJSONValue(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if d := depth(v); d > maxJSONDepth+1 {
			t.Fatalf("a value %d deep passed a depth limit of %d", d, maxJSONDepth)
		}
		// As Details and the inspect route write it.
		out, err := json.Marshal(Crash{Reason: "error", Message: v})
		if err != nil {
			t.Fatalf("the view of %x does not marshal: %v", data, err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %x: %s", data, out)
		}
	})
}

// depth is how deeply v nests arrays and maps; a scalar is 0.
func depth(v any) int {
	d := 0
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}
