package codec_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/mailbox"
)

// FuzzUnmarshal feeds untrusted bytes to every decoding path. Decoding must
// never panic, and what decodes must encode again, stably: decoding the
// re-encoding and encoding that gives the same bytes.
func FuzzUnmarshal(f *testing.F) {
	for _, seed := range [][]byte{
		{0xc0}, {0x01}, fromJS,
		{0x92, 0xc7, 0x00, 0x01, 0xd7, 0x03, 0x40, 0x8f, 0x40, 0, 0, 0, 0, 0},
		{0x81, 0xa2, 'i', 'd', 0xcd, 0x01, 0x2c},
		{0xd6, 0xff, 0, 0, 0, 1}, {0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		{0xdd, 0xff, 0xff, 0xff, 0xff}, {0xc4, 0x02, 1, 2}, {0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1},
	} {
		f.Add(seed)
	}
	caps := []*capability.Capability{capability.New(target(1), capability.Send)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var job Job
		_ = codec.Decode(mailbox.NewEnvelope(data, caps), &job)
		var typed struct {
			A []int8          `msgpack:"a"`
			B map[int]string  `msgpack:"b"`
			C [2]float32      `msgpack:"c"`
			D *time.Time      `msgpack:"d"`
			E map[string]*Job `msgpack:"e"`
		}
		_ = codec.Unmarshal(data, &typed)

		var v any
		if err := codec.Decode(mailbox.NewEnvelope(data, caps), &v); err != nil {
			return
		}
		env, err := codec.Encode(v)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", v, err)
		}
		var w any
		if err := codec.Decode(env, &w); err != nil {
			t.Fatalf("cannot decode a re-encoding % x: %v", env.Data(), err)
		}
		again, err := codec.Encode(w)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Data(), env.Data()) {
			t.Fatalf("re-encoding is not stable:\n% x\n% x", env.Data(), again.Data())
		}
	})
}
