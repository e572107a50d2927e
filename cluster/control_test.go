package cluster

import (
	"bytes"
	"testing"
)

func TestControl_RoundTrip(t *testing.T) {
	for _, h := range []header{
		{typ: msgAck, src: 1, dst: 2, off: 3},
		{typ: msgGone, src: 4, dst: 5},
		{typ: msgLeave, src: 6, dst: 7},
		{typ: msgLostAck, src: 8, dst: 9},
	} {
		got, rest, err := parseHeader(appendHeader(nil, h))
		if err != nil || got != h || len(rest) != 0 {
			t.Errorf("%+v: got %+v, %d bytes left, %v", h, got, len(rest), err)
		}
	}
	b := append(appendHeader(nil, header{typ: msgBatch, src: 1, dst: 2, off: 9}), 1, 2)
	if h, rest, err := parseHeader(b); err != nil || h.off != 9 || !bytes.Equal(rest, []byte{1, 2}) {
		t.Errorf("batch: %+v %v %v", h, rest, err)
	}
	inc, leaving, err := parseHeartbeat(appendHeartbeat(nil, 77, true))
	if err != nil || inc != 77 || !leaving {
		t.Errorf("heartbeat: %d %v %v", inc, leaving, err)
	}
	for name, bad := range map[string][]byte{
		"empty":              nil,
		"unknown type":       {9, 0, 0},
		"batch without body": appendHeader(nil, header{typ: msgBatch, src: 1, dst: 2}),
		"long ack":           append(appendHeader(nil, header{typ: msgAck, src: 1, dst: 2}), 0),
		"short gone":         appendHeader(nil, header{typ: msgGone, src: 1, dst: 2})[:10],
	} {
		if _, _, err := parseHeader(bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	for name, bad := range map[string][]byte{
		"empty":          nil,
		"zero inc":       appendHeartbeat(nil, 0, false),
		"unknown flag":   append(appendHeartbeat(nil, 1, false)[:9], 2),
		"wrong type":     append([]byte{msgAck}, appendHeartbeat(nil, 1, false)[1:]...),
		"trailing bytes": append(appendHeartbeat(nil, 1, false), 0),
	} {
		if _, _, err := parseHeartbeat(bad); err == nil {
			t.Errorf("heartbeat %s accepted", name)
		}
	}
}

// FuzzParseControl: the parsers of the transport's own headers never
// panic, and what they accept re-encodes to the same bytes.
func FuzzParseControl(f *testing.F) {
	f.Add(appendHeader(nil, header{typ: msgAck, src: 1, dst: 2, off: 3}))
	f.Add(append(appendHeader(nil, header{typ: msgBatch, src: 1, dst: 2, off: 3}), 1))
	f.Add(appendHeartbeat(nil, 5, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, rest, err := parseHeader(b); err == nil {
			again := append(appendHeader(nil, h), rest...)
			if !bytes.Equal(again, b) {
				t.Fatalf("header %+v re-encodes as %x, was %x", h, again, b)
			}
		}
		if inc, leaving, err := parseHeartbeat(b); err == nil {
			if again := appendHeartbeat(nil, inc, leaving); !bytes.Equal(again, b) {
				t.Fatalf("heartbeat re-encodes as %x, was %x", again, b)
			}
		}
	})
}
