package wire_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/cluster/wire"
)

var tok = wire.Token{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// sampleFrames holds one frame of every kind, shaped as the node sends it.
func sampleFrames() []*wire.Frame {
	to := wire.Ref{Node: "b", Inc: 0xdeadbeefcafef00d, Token: tok, Rights: 0x1f}
	static := wire.Ref{Node: "b", Path: "root/db/worker", Rights: 3}
	env := &wire.Envelope{Data: []byte{0x82, 0xa1, 'a', 1}, Caps: []wire.Ref{to, static, {Node: "c", Inc: 1, Token: wire.Token{15: 1}}}}
	return []*wire.Frame{
		{Kind: wire.KindSend, To: to, From: "root/a", Env: env},
		{Kind: wire.KindCall, To: static, From: "root/a", ID: 42, Depth: 3, Env: &wire.Envelope{Data: []byte("x")}},
		{Kind: wire.KindReply, ID: 42, Env: env},
		{Kind: wire.KindReply, ID: math.MaxUint64, Err: &wire.Error{Code: wire.ErrDenied, Message: "no send right", Need: 2, Revoked: true}},
		{Kind: wire.KindExit, To: to, From: "root/a", Reason: "shutdown"},
		{Kind: wire.KindKill, To: to, From: "root/a"},
		{Kind: wire.KindMonitor, To: to, From: "root/a", ID: 7},
		{Kind: wire.KindDemonitor, To: to, From: "root/a", ID: 7},
		{Kind: wire.KindDown, To: wire.Ref{Node: "a"}, ID: 7, Reason: "noconnection"},
		{Kind: wire.KindLink, To: to, From: "root/a", ID: 9},
		{Kind: wire.KindUnlink, To: to, From: "root/a", ID: 9},
		{Kind: wire.KindLinkExit, ID: 9, Reason: "error: boom"},
		{Kind: wire.KindSpawn, To: static, From: "root/a", ID: 10, Link: true, Env: &wire.Envelope{}},
		{Kind: wire.KindInspect, To: to, From: "root/a", ID: 11},
		{Kind: wire.KindRefused, ID: 0, To: to, Err: &wire.Error{Code: wire.ErrMailboxFull, Message: "mailbox full"}},
		{Kind: wire.KindReply, ID: 12, Err: &wire.Error{Code: wire.ErrOther}},
		{Kind: wire.KindRelease, To: wire.Ref{Node: "b", Inc: 3, Token: wire.Token{1, 2, 3}}, ID: 5},
		{Kind: wire.KindPinned, To: wire.Ref{Node: "b", Inc: 3, Token: wire.Token{1, 2, 3}}},
	}
}

func TestCodec_RoundTripsEveryKind(t *testing.T) {
	seen := map[wire.Kind]bool{}
	for _, f := range sampleFrames() {
		seen[f.Kind] = true
		b, err := wire.MarshalFrame(f)
		if err != nil {
			t.Fatalf("encode %+v: %v", f, err)
		}
		got, err := wire.DecodeFrame(b)
		if err != nil {
			t.Fatalf("decode kind %d: %v", f.Kind, err)
		}
		want := *f
		if want.Env != nil && len(want.Env.Data) == 0 {
			want.Env = &wire.Envelope{Caps: want.Env.Caps}
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("kind %d: got %+v, want %+v", f.Kind, got, &want)
		}
		again, err := wire.MarshalFrame(got)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("kind %d: re-encoding differs (%v)", f.Kind, err)
		}
	}
	for k := wire.KindSend; k.Valid(); k++ {
		if !seen[k] {
			t.Errorf("kind %d has no sample", k)
		}
	}
}

func TestCodec_DecodedFrameDoesNotAliasInput(t *testing.T) {
	f := &wire.Frame{Kind: wire.KindSend, Env: &wire.Envelope{Data: []byte("hello")}}
	b, _ := wire.MarshalFrame(f)
	got, err := wire.DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if string(got.Env.Data) != "hello" {
		t.Errorf("data changed with the input: %q", got.Env.Data)
	}
}

func TestCodec_EncodeRefusesWhatTheDecoderWouldReject(t *testing.T) {
	long := strings.Repeat("x", wire.MaxString+1)
	cases := []struct {
		name string
		f    wire.Frame
		want error
	}{
		{"kind zero", wire.Frame{}, wire.ErrUnknownKind},
		{"kind past the end", wire.Frame{Kind: 200}, wire.ErrUnknownKind},
		{"error code", wire.Frame{Kind: wire.KindReply, Err: &wire.Error{Code: 99}}, wire.ErrUnknownCode},
		{"long from", wire.Frame{Kind: wire.KindSend, From: long}, wire.ErrTooLarge},
		{"long reason", wire.Frame{Kind: wire.KindExit, Reason: long}, wire.ErrTooLarge},
		{"long node", wire.Frame{Kind: wire.KindExit, To: wire.Ref{Node: long}}, wire.ErrTooLarge},
		{"long path", wire.Frame{Kind: wire.KindExit, To: wire.Ref{Path: long}}, wire.ErrTooLarge},
		{"long message", wire.Frame{Kind: wire.KindReply, Err: &wire.Error{Message: long}}, wire.ErrTooLarge},
		{"long cap path", wire.Frame{Kind: wire.KindSend, Env: &wire.Envelope{Caps: []wire.Ref{{Path: long}}}}, wire.ErrTooLarge},
		{"too many caps", wire.Frame{Kind: wire.KindSend, Env: &wire.Envelope{Caps: make([]wire.Ref, wire.MaxCaps+1)}}, wire.ErrTooLarge},
		{"too much data", wire.Frame{Kind: wire.KindSend, Env: &wire.Envelope{Data: make([]byte, wire.MaxFrameSize)}}, wire.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := wire.AppendFrame(dst, &c.f)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

func TestCodec_RejectsMalformedInput(t *testing.T) {
	valid, _ := wire.MarshalFrame(&wire.Frame{Kind: wire.KindCall, To: wire.Ref{Node: "b", Inc: 5, Token: tok}, From: "p", ID: 1, Depth: 1,
		Env: &wire.Envelope{Data: []byte("ab"), Caps: []wire.Ref{{Node: "c"}}}})
	cases := []struct {
		name  string
		in    []byte
		want  error
		field string
	}{
		{"empty", nil, wire.ErrTruncated, "kind"},
		{"kind zero", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, wire.ErrUnknownKind, "kind"},
		{"kind unknown", []byte{99, 0, 0, 0, 0, 0, 0, 0, 0, 0}, wire.ErrUnknownKind, "kind"},
		{"frame flags", []byte{1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0}, wire.ErrNonCanonical, "flags"},
		{"ref flags", []byte{1, 0, 0x10, 0, 0, 0, 0, 0, 0, 0}, wire.ErrNonCanonical, "to"},
		{"zero incarnation", []byte{1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, wire.ErrNonCanonical, "to incarnation"},
		{"zero token", append([]byte{1, 0, 1, 0}, make([]byte, 16+6)...), wire.ErrNonCanonical, "to token"},
		{"node past the end", []byte{1, 0, 0, 5, 'a'}, wire.ErrTruncated, "to node"},
		{"node over the limit", []byte{1, 0, 0, 0x81, 0x40}, wire.ErrTooLarge, "to node"},
		{"varint not minimal", []byte{1, 0, 0, 0x80, 0x00, 0, 0, 0, 0, 0, 0}, wire.ErrNonCanonical, "to node"},
		{"varint too long", append([]byte{1, 0, 0, 0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 11)...), wire.ErrTooLarge, "id"},
		{"varint overflows", append(append([]byte{1, 0, 0, 0, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 9)...), 2), wire.ErrTooLarge, "id"},
		{"depth over 32 bits", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0}, wire.ErrTooLarge, "depth"},
		{"rights over 16 bits", []byte{1, 0, 0, 0, 0, 0x80, 0x80, 0x04, 0, 0, 0, 0}, wire.ErrTooLarge, "to rights"},
		{"truncated after to", []byte{1, 0, 0, 0, 0, 0}, wire.ErrTruncated, "from"},
		{"data past the end", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 10, 'a'}, wire.ErrTruncated, "data"},
		{"data over the limit", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x08}, wire.ErrTooLarge, "data length"},
		{"caps over the limit", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x40}, wire.ErrTooLarge, "capability count"},
		{"caps past the end", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0}, wire.ErrTruncated, "capability count"},
		{"error code unknown", []byte{3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0}, wire.ErrUnknownCode, "error code"},
		{"error flags", []byte{3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0}, wire.ErrNonCanonical, "error flags"},
		{"need over 16 bits", []byte{3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x80, 0x80, 0x04, 0}, wire.ErrTooLarge, "error need"},
		{"trailing byte", append(append([]byte(nil), valid...), 0), wire.ErrTrailing, "frame"},
		{"cut short", valid[:len(valid)-1], wire.ErrTruncated, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := wire.DecodeFrame(c.in)
			if f != nil {
				t.Errorf("got a frame %+v", f)
			}
			if !errors.Is(err, wire.ErrMalformed) || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.field != "" && !strings.Contains(err.Error(), ": "+c.field+":") {
				t.Errorf("err = %q, want it to name the field %q", err, c.field)
			}
		})
	}
}

func TestBatch_RoundTripsInOrder(t *testing.T) {
	frames := sampleFrames()
	var b wire.Batch
	for _, f := range frames {
		if err := b.AddFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.Len(), len(frames); got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	if got, want := b.Size(), len(b.Bytes()); got != want {
		t.Fatalf("Size = %d, want %d", got, want)
	}
	viaAppend, err := wire.AppendBatch(nil, frames)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaAppend, b.Bytes()) {
		t.Fatal("AppendBatch and Batch disagree")
	}
	got, err := wire.DecodeBatch(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(frames) {
		t.Fatalf("decoded %d frames, want %d", len(got), len(frames))
	}
	for i := range got {
		if got[i].Kind != frames[i].Kind || got[i].ID != frames[i].ID {
			t.Errorf("frame %d: got kind %d id %d, want kind %d id %d", i, got[i].Kind, got[i].ID, frames[i].Kind, frames[i].ID)
		}
	}
	one, _ := wire.MarshalFrame(frames[0])
	size := b.SizeWith(len(one))
	b.Add(one)
	if b.Size() != size {
		t.Errorf("SizeWith = %d, size after Add = %d", size, b.Size())
	}
	b.Reset()
	if b.Len() != 0 || b.Bytes() != nil || b.Size() != 0 {
		t.Error("Reset left frames behind")
	}
	if got, want := b.SizeWith(len(one)), 1+1+len(one); got != want {
		t.Errorf("SizeWith on empty = %d, want %d", got, want)
	}
}

func TestBatch_RejectsMalformedInput(t *testing.T) {
	one, _ := wire.MarshalFrame(&wire.Frame{Kind: wire.KindKill, From: "p"})
	good := append([]byte{wire.BatchVersion, byte(len(one))}, one...)
	bad := append([]byte(nil), good...)
	bad[2] = 200 // the first frame's kind
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, wire.ErrTruncated},
		{"only a version", []byte{wire.BatchVersion}, wire.ErrTruncated},
		{"unknown version", append([]byte{9}, good[1:]...), wire.ErrBadVersion},
		{"length past the end", []byte{wire.BatchVersion, 50, 1, 2}, wire.ErrTruncated},
		{"length over the limit", []byte{wire.BatchVersion, 0x80, 0x80, 0x80, 0x08}, wire.ErrTooLarge},
		{"bad frame after a good one", append(append([]byte(nil), good...), bad[1:]...), wire.ErrUnknownKind},
		{"empty frame", []byte{wire.BatchVersion, 0}, wire.ErrTruncated},
		{"dangling length", append(append([]byte(nil), good...), 0x80), wire.ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := wire.DecodeBatch(c.in)
			if got != nil {
				t.Errorf("got %d frames", len(got))
			}
			if !errors.Is(err, wire.ErrMalformed) || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if _, err := wire.AppendBatch(nil, nil); err == nil {
		t.Error("AppendBatch of no frames succeeded")
	}
}

func BenchmarkCodec_EncodeSend(b *testing.B) {
	f := smallSend()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = wire.AppendFrame(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkCodec_DecodeSend(b *testing.B) {
	p, _ := wire.MarshalFrame(smallSend())
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.DecodeFrame(p); err != nil {
			b.Fatal(err)
		}
	}
}

// smallSend is a send of a short message with no capability, to a token.
func smallSend() *wire.Frame {
	return &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "node-b", Inc: 0x1234567890abcdef, Token: tok, Rights: 1},
		From: "root/web/handler", Env: &wire.Envelope{Data: []byte{0x82, 0xa2, 'o', 'p', 0xa3, 'g', 'e', 't', 0xa2, 'i', 'd', 0x2a}}}
}

// A batch of sends from one process to one target, as a busy sender
// queues them: every frame decodes to what was sent, and decoding takes
// two allocations a frame (the frame with its envelope, and the message
// bytes), the strings the frames share being allocated once.
func TestBatch_RepeatedFramesDecodeWithTwoAllocationsEach(t *testing.T) {
	const n = 100
	frames := make([]*wire.Frame, n)
	for i := range frames {
		f := smallSend()
		f.Env.Data = append(f.Env.Data, byte(i))
		frames[i] = f
	}
	b, err := wire.AppendBatch(nil, frames)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, frames) {
		t.Fatal("decoded batch differs from the frames sent")
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := wire.DecodeBatch(b); err != nil {
			t.Fatal(err)
		}
	})
	// 2 a frame, 3 strings once, the slice of frames and its growth
	if limit := float64(2*n + 8); allocs > limit {
		t.Errorf("DecodeBatch of %d frames: %.0f allocations, want at most %.0f", n, allocs, limit)
	}
}

func BenchmarkBatch_DecodeSends(b *testing.B) {
	p := sendsBatch(b, 500)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.DecodeBatch(p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBatch_RefusesMoreThanMaxBatchFrames(t *testing.T) {
	frames := make([]*wire.Frame, wire.MaxBatchFrames+1)
	for i := range frames {
		frames[i] = &wire.Frame{Kind: wire.KindUnlink, ID: uint64(i)}
	}
	full, err := wire.AppendBatch(nil, frames[:wire.MaxBatchFrames])
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeBatch(full)
	if err != nil || len(got) != wire.MaxBatchFrames {
		t.Fatalf("a batch of MaxBatchFrames frames: %d frames, %v", len(got), err)
	}
	over, err := wire.AppendBatch(nil, frames)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := wire.DecodeBatch(over); !errors.Is(err, wire.ErrTooLarge) || got != nil {
		t.Errorf("DecodeBatch of %d frames: %d frames, %v; want ErrTooLarge", len(frames), len(got), err)
	}
	var dc wire.Decoder
	if got, err := dc.Decode(over); !errors.Is(err, wire.ErrTooLarge) || got != nil {
		t.Errorf("Decoder.Decode of %d frames: %d frames, %v; want ErrTooLarge", len(frames), len(got), err)
	}
}

// sendsBatch is a batch of n small sends, as a busy sender queues them.
func sendsBatch(b *testing.B, n int) []byte {
	b.Helper()
	frames := make([]*wire.Frame, n)
	for i := range frames {
		frames[i] = smallSend()
	}
	p, err := wire.AppendBatch(nil, frames)
	if err != nil {
		b.Fatal(err)
	}
	return p
}
