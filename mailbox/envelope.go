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
