package wire_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// cloneFrames deep-copies frames, so that they outlive a Decoder's loan.
func cloneFrames(frames []*wire.Frame) []*wire.Frame {
	out := make([]*wire.Frame, len(frames))
	for i, f := range frames {
		c := *f
		if f.Env != nil {
			c.Env = &wire.Envelope{Data: bytes.Clone(f.Env.Data), Caps: append([]wire.Ref(nil), f.Env.Caps...)}
		}
		if f.Err != nil {
			e := *f.Err
			c.Err = &e
		}
		out[i] = &c
	}
	return out
}

// A Decoder reused across batches of different sizes decodes each as
// DecodeBatch does, frame for frame, and refuses what it refuses.
func TestDecoder_AsDecodeBatch(t *testing.T) {
	all := sampleFrames()
	var batches [][]byte
	for _, n := range []int{len(all), 1, 3, len(all), 2} {
		b, err := wire.AppendBatch(nil, all[:n])
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	bad := append([]byte(nil), batches[0]...)
	bad[len(bad)-1] ^= 0xff // the last frame's last byte
	batches = append(batches, bad, batches[2])

	var dc wire.Decoder
	for i, b := range batches {
		want, werr := wire.DecodeBatch(b)
		got, gerr := dc.Decode(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("batch %d: DecodeBatch err %v, Decoder err %v", i, werr, gerr)
		}
		if gerr != nil {
			if !errors.Is(gerr, wire.ErrMalformed) || got != nil {
				t.Fatalf("batch %d: %d frames and %v, want none and ErrMalformed", i, len(got), gerr)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("batch %d: Decoder gave\n%+v\nDecodeBatch gave\n%+v", i, got, want)
		}
	}
}

// A Decoder's frames are lent: their message bytes alias the batch, and
// Done leaves nothing of them behind (no pointer into the batch is kept).
func TestDecoder_LendsFrames(t *testing.T) {
	f := &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "root/sink"}, From: "root/src", Env: &wire.Envelope{Data: []byte("hello")}}
	b, err := wire.AppendBatch(nil, []*wire.Frame{f, f})
	if err != nil {
		t.Fatal(err)
	}
	var dc wire.Decoder
	frames, err := dc.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	kept := cloneFrames(frames)
	data := frames[0].Env.Data
	if i := bytes.Index(b, []byte("hello")); i < 0 || &b[i] != &data[0] {
		t.Fatal("the message bytes do not alias the batch")
	}
	if cap(data) != len(data) {
		t.Fatalf("the message bytes have room to grow into the batch: len %d cap %d", len(data), cap(data))
	}
	first := frames[0]
	dc.Done()
	if !reflect.DeepEqual(*first, wire.Frame{}) {
		t.Fatalf("after Done the lent frame still holds %+v", *first)
	}
	if !reflect.DeepEqual(kept[0], f) || !reflect.DeepEqual(kept[1], f) {
		t.Fatalf("decoded %+v, want %+v", kept[0], f)
	}
	// The next batch reuses the frames, and reads as a fresh decode.
	g := &wire.Frame{Kind: wire.KindExit, To: wire.Ref{Node: "b", Inc: 7, Token: wire.Token{1}}, From: "root/x", Reason: "bye"}
	b2, _ := wire.AppendBatch(nil, []*wire.Frame{g})
	frames, err = dc.Decode(b2)
	if err != nil || len(frames) != 1 || !reflect.DeepEqual(frames[0], g) {
		t.Fatalf("second batch: %+v, %v; want %+v", frames, err, g)
	}
	if frames[0] != first {
		t.Fatal("the second batch's frame was allocated anew")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := dc.Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("decoding a batch of sends of the same process to the same path allocated %v times, want 0", allocs)
	}
}

// BenchmarkDecoder_DecodeSends is BenchmarkBatch_DecodeSends with one
// Decoder for every batch, as a transport decodes them.
func BenchmarkDecoder_DecodeSends(b *testing.B) {
	p := sendsBatch(b, 500)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	var dc wire.Decoder
	for b.Loop() {
		if _, err := dc.Decode(p); err != nil {
			b.Fatal(err)
		}
		dc.Done()
	}
}
