package actor

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

type codecTarget struct{ id uint64 }

func (t codecTarget) TargetID() uint64 { return t.id }

func TestGoCodec_RoundTrip(t *testing.T) {
	c1 := capability.New(codecTarget{1}, capability.Send)
	type inner struct {
		Cap  *capability.Capability
		When time.Time
	}
	type msg struct {
		Name   string         `msgpack:"name"`
		Skip   string         `msgpack:"-"`
		Empty  string         `msgpack:"empty,omitempty"`
		N      int8           `msgpack:"n"`
		U      uint16         `msgpack:"u"`
		F      float32        `msgpack:"f"`
		Raw    []byte         `msgpack:"raw"`
		Inner  inner          `msgpack:"inner"`
		Ptr    *inner         `msgpack:"ptr"`
		Map    map[string]int `msgpack:"map"`
		IntMap map[int]string `msgpack:"intmap"`
		Any    any            `msgpack:"any"`
		List   [2]bool        `msgpack:"list"`
		Caps   []*capability.Capability
	}
	when := time.UnixMilli(1_700_000_000_123)
	in := msg{Name: "x", Skip: "gone", N: -7, U: 65535, F: 1.5, Raw: []byte{0, 1}, Inner: inner{Cap: c1, When: when},
		Map: map[string]int{"a": 1}, IntMap: map[int]string{3: "three"}, Any: []any{"s", int64(2)}, List: [2]bool{true, false}, Caps: []*capability.Capability{c1, nil}}
	env, err := encodeGo(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(env.Caps()); got != 2 {
		t.Fatalf("%d capabilities transferred, want 2 (one per occurrence)", got)
	}
	var out msg
	if err := decodeGo(env, &out); err != nil {
		t.Fatal(err)
	}
	if out.Inner.Cap != c1 || out.Caps[0] != c1 || out.Caps[1] != nil || !out.Inner.When.Equal(when) {
		t.Errorf("capabilities or date changed: %+v", out)
	}
	want := in
	want.Skip, want.Inner, out.Inner, want.Caps, out.Caps = "", inner{}, inner{}, nil, nil
	if !reflect.DeepEqual(out, want) {
		t.Errorf("decoded %+v\nwant    %+v", out, want)
	}
	var generic any
	if err := decodeGo(env, &generic); err != nil {
		t.Fatal(err)
	}
	m := generic.(map[string]any)
	if _, ok := m["raw"].([]byte); !ok {
		t.Errorf("bytes decoded as %T, want []byte", m["raw"])
	}
	if m["intmap"].(map[string]any)["3"] != "three" {
		t.Errorf("an integer map key did not become a string: %v", m["intmap"])
	}
	if _, ok := m["empty"]; ok {
		t.Errorf("omitempty field was sent")
	}
}

func TestGoCodec_Refuses(t *testing.T) {
	type cyclic struct{ Next *cyclic }
	loop := &cyclic{}
	loop.Next = loop
	for name, v := range map[string]any{
		"a function":   func() {},
		"a channel":    make(chan int),
		"a cycle":      loop,
		"a float key":  map[float64]int{1: 1},
		"a big string": string(make([]byte, 2000)),
	} {
		if _, err := encodeGo(v, 1000); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	dec := func(data []byte, caps int, out any) error {
		cs := make([]*capability.Capability, caps)
		return decodeGo(mailbox.NewEnvelope(data, cs), out)
	}
	var v any
	for name, data := range map[string][]byte{
		"unknown extension":       {0xd4, 9, 0},
		"capability out of range": {0xd6, 2, 0, 0, 0, 1},
		"huge array header":       {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge map header":         {0xdf, 0xff, 0xff, 0xff, 0xff},
		"truncated":               {0x92, 0x01},
		"trailing bytes":          {0x01, 0x02},
		"deep nesting":            bytes.Repeat([]byte{0x91}, maxGoDepth+2),
		"map key array":           {0x81, 0x90, 0x01},
	} {
		if err := dec(data, 1, &v); !errors.Is(err, errDecode) {
			t.Errorf("%s: %v, want a decode error", name, err)
		}
	}
	var small struct{ N int8 }
	if err := dec([]byte{0x81, 0xa1, 'N', 0xcd, 0x01, 0x00}, 0, &small); err == nil {
		t.Errorf("256 went into an int8")
	}
	var u uint
	if err := dec([]byte{0xff}, 0, &u); err == nil {
		t.Errorf("-1 went into a uint")
	}
	var i int
	if err := dec([]byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, 0, &i); err == nil {
		t.Errorf("1.5 went into an int")
	}
	if err := dec([]byte{0xcb, 0x40, 0x08, 0, 0, 0, 0, 0, 0}, 0, &i); err != nil || i != 3 {
		t.Errorf("3.0 into an int: %d, %v", i, err)
	}
	var s string
	if err := dec([]byte{0x01}, 0, s); err == nil {
		t.Errorf("decoded into a non-pointer")
	}
	var d time.Time
	if err := dec([]byte{0xd7, 3, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, 0, &d); err != nil || !d.IsZero() {
		t.Errorf("an invalid Date decoded as %v, %v; want the zero time", d, err)
	}
}

// FuzzGoDecode: no input makes decoding panic or loop.
func FuzzGoDecode(f *testing.F) {
	for _, seed := range [][]byte{{0xc0}, {0x81, 0xa1, 'a', 0xd6, 2, 0, 0, 0, 0}, {0x92, 0xc7, 0, 1, 0xd7, 3, 0, 0, 0, 0, 0, 0, 0, 0}, {0xdc, 0, 3, 1, 2}} {
		f.Add(seed)
	}
	c := capability.New(codecTarget{1}, capability.Send)
	f.Fuzz(func(t *testing.T, data []byte) {
		env := mailbox.NewEnvelope(data, []*capability.Capability{c})
		var v any
		_ = decodeGo(env, &v)
		var s struct {
			A []map[string]*capability.Capability
			B *struct{ C [2]int }
		}
		_ = decodeGo(env, &s)
	})
}
