package codec

import "errors"

// ErrMalformed is wrapped by every error about input that is not a valid
// message.
var ErrMalformed = errors.New("malformed message")

// ErrNoEnvelope is a capability given to Marshal or found by Unmarshal: a
// capability travels only in an envelope (Encode and Decode).
var ErrNoEnvelope = errors.New("a capability needs an envelope: use Encode and Decode")

// ErrUnsupported is a Go value that has no message form (a channel, a
// function, a complex number, a map key that is not a string or an
// integer), or that nests deeper than MaxDepth.
var ErrUnsupported = errors.New("no message form")
