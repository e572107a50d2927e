package cluster

import (
	"math"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// Send sizes its buffer by frameSizeHint so a frame is encoded in one
// allocation: the hint must cover the encoding, fields at their largest.
func TestFrameSizeHint_CoversTheEncoding(t *testing.T) {
	long := strings.Repeat("x", wire.MaxString)
	full := wire.Ref{Node: long, Inc: math.MaxUint64, Token: wire.Token{1}, Path: long, Rights: math.MaxUint16}
	caps := make([]wire.Ref, 100)
	for i := range caps {
		caps[i] = full
	}
	for name, f := range map[string]*wire.Frame{
		"small send": smallFrame(),
		"largest fields": {Kind: wire.KindCall, To: full, From: long, ID: math.MaxUint64, Depth: math.MaxUint32, Reason: long,
			Env: &wire.Envelope{Data: make([]byte, 1<<16), Caps: caps}},
		"error reply": {Kind: wire.KindReply, To: wire.Ref{Node: "a"}, ID: 1 << 40,
			Err: &wire.Error{Code: wire.ErrDenied, Message: long, Need: math.MaxUint16, Revoked: true}},
		"empty envelope": {Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "root/x"}, Env: &wire.Envelope{}},
	} {
		b, err := wire.AppendFrame(nil, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if hint := frameSizeHint(f); hint < len(b) {
			t.Errorf("%s: hint %d, encoded %d bytes", name, hint, len(b))
		}
		// A buffer of the hinted size is never outgrown: the encoding
		// lands in it, with no second allocation. (Counting allocations
		// would count other goroutines' too.)
		buf := make([]byte, 0, frameSizeHint(f))
		if out, _ := wire.AppendFrame(buf, f); cap(out) != cap(buf) || &out[0] != &buf[:1][0] {
			t.Errorf("%s: encoding outgrew a buffer of the hinted size %d (%d bytes)", name, cap(buf), len(out))
		}
	}
}
