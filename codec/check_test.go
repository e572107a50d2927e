package codec_test

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/codec"
	"github.com/cloister-rt/cloister/mailbox"
)

type checkTarget struct{}

func (checkTarget) TargetID() uint64 { return 1 }

func TestCheck(t *testing.T) {
	c := capability.New(checkTarget{}, capability.Send)
	for _, v := range []any{nil, 1, "s", []any{1, "a", nil}, map[string]any{"a": []any{c, time.Now(), codec.Undefined{}}, "b": []byte{1}}} {
		env, err := codec.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := codec.Check(env); err != nil {
			t.Errorf("Check(%v): %v", v, err)
		}
	}
	for _, data := range [][]byte{nil, {0xc1}, {0x92, 0x01}, {0xd9, 0xff}, {0x81, 0xa1, 'a'}, {0xc0, 0xc0},
		{0xd6, 0x02, 0, 0, 0, 0}, {0xd4, 0x63, 0}, append(slices.Repeat([]byte{0x91}, 200), 0xc0)} {
		if err := codec.Check(mailbox.NewEnvelope(data, nil)); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("Check(% x): %v, want ErrMalformed", data, err)
		}
	}
	// A capability index within the envelope's capabilities passes.
	if err := codec.Check(mailbox.NewEnvelope([]byte{0xd6, 0x02, 0, 0, 0, 0}, []*capability.Capability{c})); err != nil {
		t.Errorf("a capability the envelope carries: %v", err)
	}
}

// arrays encodes an array of k empty arrays.
func arrays(k int) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(k))
	return append(b, slices.Repeat([]byte{0x90}, k)...)
}

// A message that would take a JS receiver more heap than it builds is
// refused; one just within it passes.
func TestCheckReceiverHeap(t *testing.T) {
	// 576 + 16k for the outer array, 576 for each inner one.
	within := (codec.MaxReceiverHeap - 576) / (576 + 16)
	if err := codec.Check(mailbox.NewEnvelope(arrays(within), nil)); err != nil {
		t.Fatalf("%d empty arrays: %v", within, err)
	}
	if err := codec.Check(mailbox.NewEnvelope(arrays(within+1), nil)); !errors.Is(err, codec.ErrMalformed) {
		t.Fatalf("%d empty arrays: %v, want ErrMalformed", within+1, err)
	}
	// Map keys a JS receiver cannot take.
	for _, data := range [][]byte{{0x81, 0x90, 0x01}, {0x81, 0x80, 0x01}, {0x81, 0xd4, 0x01, 0x00, 0x01}, {0x81, 0xc4, 0x01, 'a', 0x01}} {
		if err := codec.Check(mailbox.NewEnvelope(data, nil)); !errors.Is(err, codec.ErrMalformed) {
			t.Errorf("Check(% x): %v, want ErrMalformed", data, err)
		}
	}
	for _, data := range [][]byte{{0x81, 0x01, 0x01}, {0x81, 0xc0, 0x01}, {0x81, 0xc3, 0x01}, {0x81, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}} {
		if err := codec.Check(mailbox.NewEnvelope(data, nil)); err != nil {
			t.Errorf("Check(% x): %v", data, err)
		}
	}
}
