package codec_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/mailbox"
)

type target uint64

func (t target) TargetID() uint64 { return uint64(t) }

type Inner struct {
	Note string `msgpack:"note"`
}

type Job struct {
	Inner
	ID      int                    `msgpack:"id"`
	Name    string                 `msgpack:"name,omitempty"`
	Due     time.Time              `msgpack:"due"`
	Data    []byte                 `msgpack:"data"`
	Tags    []string               `msgpack:"tags"`
	Scores  map[string]float64     `msgpack:"scores"`
	ReplyTo *capability.Capability `msgpack:"replyTo,omitempty"`
	Skip    int                    `msgpack:"-"`
	Extra   any                    `msgpack:"extra"`
	private int
}

func TestEncodeDecode_RoundTrip(t *testing.T) {
	c := capability.New(target(1), capability.Send)
	due := time.Date(2026, 5, 4, 3, 2, 1, 123_000_000, time.UTC)
	in := Job{Inner: Inner{Note: "n"}, ID: 7, Due: due, Data: []byte{0, 1, 255}, Tags: []string{"a", "b"},
		Scores: map[string]float64{"x": 1.5}, ReplyTo: c, Skip: 9, Extra: codec.Undefined{}, private: 3}
	env, err := codec.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Caps(); len(got) != 1 || got[0] != c {
		t.Fatalf("envelope caps = %v, want the one capability", got)
	}
	var out Job
	if err := codec.Decode(env, &out); err != nil {
		t.Fatal(err)
	}
	want := in
	want.Skip, want.private = 0, 0
	if !reflect.DeepEqual(out, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, want)
	}
	var generic map[string]any
	if err := codec.Decode(env, &generic); err != nil {
		t.Fatal(err)
	}
	if _, ok := generic["name"]; ok {
		t.Errorf("omitempty field present: %v", generic)
	}
	if generic["note"] != "n" || generic["id"] != int64(7) || generic["replyTo"] != c || generic["extra"] != (codec.Undefined{}) || !generic["due"].(time.Time).Equal(due) {
		t.Errorf("generic decode = %#v", generic)
	}
}

// Bytes as the JS side writes them: {u: undefined, d: new Date(1000), c: cap}.
var fromJS = []byte{0x83,
	0xa1, 'u', 0xc7, 0x00, 0x01,
	0xa1, 'd', 0xd7, 0x03, 0x40, 0x8f, 0x40, 0, 0, 0, 0, 0,
	0xa1, 'c', 0xd6, 0x02, 0, 0, 0, 0}

func TestDecode_ExtensionTypesFromJS(t *testing.T) {
	c := capability.New(target(2), capability.Send|capability.Monitor)
	var out struct {
		U any                    `msgpack:"u"`
		D time.Time              `msgpack:"d"`
		C *capability.Capability `msgpack:"c"`
	}
	if err := codec.Decode(mailbox.NewEnvelope(fromJS, []*capability.Capability{c}), &out); err != nil {
		t.Fatal(err)
	}
	if out.U != (codec.Undefined{}) || !out.D.Equal(time.UnixMilli(1000)) || out.C != c {
		t.Fatalf("decoded %+v", out)
	}
	if err := out.C.Check(capability.Monitor, "monitor"); err != nil {
		t.Errorf("the decoded capability lost its rights: %v", err)
	}
	// Without an envelope the capability has nowhere to come from.
	if err := codec.Unmarshal(fromJS, &out); !errors.Is(err, codec.ErrNoEnvelope) {
		t.Errorf("Unmarshal with a capability = %v, want ErrNoEnvelope", err)
	}
	if err := codec.Decode(mailbox.NewEnvelope(fromJS, nil), &out); !errors.Is(err, codec.ErrMalformed) {
		t.Errorf("a capability index past the envelope = %v, want ErrMalformed", err)
	}
}

func TestMarshal_Forms(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   any
		want []byte
	}{
		{"nil", nil, []byte{0xc0}},
		{"undefined", codec.Undefined{}, []byte{0xc7, 0x00, 0x01}},
		{"date", time.UnixMilli(1000), []byte{0xd7, 0x03, 0x40, 0x8f, 0x40, 0, 0, 0, 0, 0}},
		{"small int", 5, []byte{0x05}},
		{"negative", -33, []byte{0xd0, 0xdf}},
		{"uint16", 300, []byte{0xcd, 0x01, 0x2c}},
		{"bytes", []byte{1, 2}, []byte{0xc4, 0x02, 1, 2}},
		{"int keys sorted as strings", map[int]bool{10: true, 9: false}, []byte{0x82, 0xa2, '1', '0', 0xc3, 0xa1, '9', 0xc2}},
		{"nil slice", []int(nil), []byte{0xc0}},
		{"float", 1.5, []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codec.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Marshal(%v) = % x, want % x", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarshal_Refuses(t *testing.T) {
	type node struct{ Next *node }
	loop := &node{}
	loop.Next = loop
	for _, tt := range []struct {
		name string
		in   any
		want error
	}{
		{"channel", make(chan int), codec.ErrUnsupported},
		{"func in a map", map[string]any{"f": func() {}}, codec.ErrUnsupported},
		{"a cycle", loop, codec.ErrUnsupported},
		{"float map key", map[float64]int{1: 1}, codec.ErrUnsupported},
		{"capability", capability.New(target(1), capability.Send), codec.ErrNoEnvelope},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := codec.Marshal(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Marshal = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnmarshal_Errors(t *testing.T) {
	deep := strings.Repeat("\x91", codec.MaxDepth+1) + "\xc0"
	var anyOut any
	for _, tt := range []struct {
		name string
		in   []byte
		out  any
		want string
	}{
		{"truncated", []byte{0x92, 0x01}, &anyOut, "truncated"},
		{"a huge header", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, &anyOut, "truncated"},
		{"bytes after", []byte{0x01, 0x02}, &anyOut, "1 bytes after the value"},
		{"unknown extension", []byte{0xd4, 0x09, 0x00}, &anyOut, "unknown extension type 9"},
		{"date of 4 bytes", []byte{0xd6, 0x03, 0, 0, 0, 0}, &anyOut, "extension type 3 of 4 bytes"},
		{"too deep", []byte(deep), &anyOut, "nested more than"},
		{"never-used byte", []byte{0xc1}, &anyOut, "byte 0xc1"},
		{"fraction into int", []byte{0x81, 0xa1, 'a', 0xcb, 0x40, 0x0c, 0, 0, 0, 0, 0, 0}, &struct{ A int }{}, "a: 3.5 does not fit int"},
		{"overflow", []byte{0x91, 0xcd, 0x01, 0x2c}, new([]int8), "[0]: 300 does not fit int8"},
		{"string into int", []byte{0xa1, 'x'}, new(int), "cannot put a string into int"},
		{"not a pointer", []byte{0xc0}, 3, "non-nil pointer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := codec.Unmarshal(tt.in, tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMaxDepth_SameBothWays(t *testing.T) {
	nest := func(n int) any {
		var v any = 1
		for range n {
			v = []any{v}
		}
		return v
	}
	b, err := codec.Marshal(nest(codec.MaxDepth))
	if err != nil {
		t.Fatalf("Marshal of %d nested arrays: %v", codec.MaxDepth, err)
	}
	var v any
	if err := codec.Unmarshal(b, &v); err != nil {
		t.Fatalf("Unmarshal of %d nested arrays: %v", codec.MaxDepth, err)
	}
	if _, err := codec.Marshal(nest(codec.MaxDepth + 1)); !errors.Is(err, codec.ErrUnsupported) {
		t.Errorf("Marshal of %d nested arrays = %v, want ErrUnsupported", codec.MaxDepth+1, err)
	}
}

func TestUnmarshal_Numbers(t *testing.T) {
	var f float64
	if err := codec.Unmarshal([]byte{0x05}, &f); err != nil || f != 5 {
		t.Errorf("int into float64: %v, %v", f, err)
	}
	var i int
	if err := codec.Unmarshal([]byte{0xcb, 0x40, 0x08, 0, 0, 0, 0, 0, 0}, &i); err != nil || i != 3 {
		t.Errorf("3.0 into int: %v, %v", i, err)
	}
	var nan any
	if err := codec.Unmarshal([]byte{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}, &nan); err != nil || !math.IsNaN(nan.(float64)) {
		t.Errorf("NaN: %v, %v", nan, err)
	}
	var invalid time.Time
	if err := codec.Unmarshal([]byte{0xd7, 0x03, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, &invalid); err != nil || !invalid.IsZero() {
		t.Errorf("an invalid Date: %v, %v, want the zero time", invalid, err)
	}
	m := map[string]any{}
	if err := codec.Unmarshal([]byte{0x82, 0x01, 0xc3, 0xc0, 0xc2}, &m); err != nil || m["1"] != true || m["null"] != false {
		t.Errorf("keys that are not strings: %v, %v", m, err)
	}
}
