package mailbox

import "github.com/cloister-rt/cloister/capability"

// capabilityCost is what one transferred capability counts for in Size.
const capabilityCost = 16

// Envelope is one message: its msgpack encoding and the capabilities that the
// encoding refers to by index. The data is a private copy: no isolate holds a
// reference into it. Safe for concurrent reads.
type Envelope struct {
	data []byte
	caps []*capability.Capability
}

// NewEnvelope wraps data and caps; the caller hands over ownership of both.
func NewEnvelope(data []byte, caps []*capability.Capability) *Envelope {
	return &Envelope{data: data, caps: caps}
}

// Data returns the msgpack bytes. Callers must not modify them.
func (e *Envelope) Data() []byte { return e.data }

// Caps returns the transferred capabilities, indexed by the encoding's
// capability extension. Callers must not modify the slice.
func (e *Envelope) Caps() []*capability.Capability { return e.caps }

// Size is the number of bytes the envelope is charged for.
func (e *Envelope) Size() int { return len(e.data) + capabilityCost*len(e.caps) }

// Small envelopes carry their bytes in the same allocation as the header.
type (
	envelope32 struct {
		Envelope
		buf [32]byte
	}
	envelope64 struct {
		Envelope
		buf [64]byte
	}
	envelope192 struct {
		Envelope
		buf [192]byte
	}
)

// CopyEnvelope wraps a private copy of data and caps, whose ownership the
// caller hands over. data itself stays the caller's and may be reused at once.
// A message of up to 192 bytes costs one allocation instead of two: its bytes
// live next to the header, and like any envelope's they are never written
// again, so every reader (a mailbox, a parked timer, a crash report, the
// cluster transport) sees them unchanged for as long as it holds the envelope.
func CopyEnvelope(data []byte, caps []*capability.Capability) *Envelope {
	n := len(data)
	switch {
	case n <= len(envelope32{}.buf):
		s := &envelope32{}
		copy(s.buf[:], data)
		s.Envelope = Envelope{data: s.buf[:n:n], caps: caps}
		return &s.Envelope
	case n <= len(envelope64{}.buf):
		s := &envelope64{}
		copy(s.buf[:], data)
		s.Envelope = Envelope{data: s.buf[:n:n], caps: caps}
		return &s.Envelope
	case n <= len(envelope192{}.buf):
		s := &envelope192{}
		copy(s.buf[:], data)
		s.Envelope = Envelope{data: s.buf[:n:n], caps: caps}
		return &s.Envelope
	}
	b := append([]byte(nil), data...)
	return &Envelope{data: b[:n:n], caps: caps}
}
