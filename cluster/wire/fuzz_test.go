package wire_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// FuzzDecodeFrame feeds arbitrary bytes to the decoder: it must never
// panic, and whatever it accepts must encode back to the same bytes and
// decode to the same frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		b, err := wire.MarshalFrame(fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0x80, 0x00, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := wire.DecodeFrame(b)
		if err != nil {
			if fr != nil {
				t.Fatalf("a frame and an error: %v", err)
			}
			return
		}
		again, err := wire.MarshalFrame(fr)
		if err != nil {
			t.Fatalf("decoded frame does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, again)
		}
		fr2, err := wire.DecodeFrame(again)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("frames differ: %+v vs %+v", fr, fr2)
		}
	})
}

// FuzzDecodeBatch does the same for batches.
func FuzzDecodeBatch(f *testing.F) {
	all, err := wire.AppendBatch(nil, sampleFrames())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(all)
	for _, fr := range sampleFrames()[:4] {
		b, _ := wire.AppendBatch(nil, []*wire.Frame{fr, fr})
		f.Add(b)
	}
	f.Add([]byte{wire.BatchVersion, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := wire.DecodeBatch(b)
		if err != nil {
			if frames != nil {
				t.Fatalf("frames and an error: %v", err)
			}
			return
		}
		again, err := wire.AppendBatch(nil, frames)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, again)
		}
		frames2, err := wire.DecodeBatch(again)
		if err != nil || !reflect.DeepEqual(frames, frames2) {
			t.Fatalf("second decoding differs (%v)", err)
		}
	})
}

// FuzzDecoder decodes a batch with a Decoder that decoded another first:
// it must accept exactly what DecodeBatch accepts and give the same
// frames, whatever its reused storage held before.
func FuzzDecoder(f *testing.F) {
	all, err := wire.AppendBatch(nil, sampleFrames())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(all)
	f.Add([]byte{wire.BatchVersion, 0})
	var dc wire.Decoder
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := dc.Decode(all); err != nil {
			t.Fatal(err)
		}
		want, werr := wire.DecodeBatch(b)
		got, gerr := dc.Decode(b)
		if (werr == nil) != (gerr == nil) || (gerr != nil && got != nil) {
			t.Fatalf("DecodeBatch: %v; Decoder: %d frames, %v", werr, len(got), gerr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Decoder and DecodeBatch differ:\n%+v\n%+v", got, want)
		}
		dc.Done()
	})
}
