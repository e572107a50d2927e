package wire

import "errors"

// Transport errors.
var (
	// ErrNoConnection: the peer node is not reachable.
	ErrNoConnection = errors.New("noconnection: the node is not reachable")
	// ErrBackpressure: too many frames are in flight to the peer.
	ErrBackpressure = errors.New("backpressure: too much is in flight to the node")
)

// Decoding errors. Every error DecodeFrame and DecodeBatch return wraps
// ErrMalformed and one of the more precise errors below it, with the
// field it was reading.
var (
	// ErrMalformed: the bytes are not a frame or batch this codec wrote.
	ErrMalformed = errors.New("malformed frame")
	// ErrTruncated: a field runs past the end of the input.
	ErrTruncated = errors.New("truncated")
	// ErrTooLarge: a length or count exceeds its limit (MaxString,
	// MaxCaps, MaxFrameSize) or a number exceeds its field's range.
	ErrTooLarge = errors.New("over the limit")
	// ErrUnknownKind: the frame kind is not one of the Kind constants.
	ErrUnknownKind = errors.New("unknown frame kind")
	// ErrUnknownCode: the error code is not one of the ErrCode constants.
	ErrUnknownCode = errors.New("unknown error code")
	// ErrNonCanonical: a field is encoded in a form the encoder never
	// writes (unknown flag bits, a varint longer than needed, a flag
	// announcing a zero value).
	ErrNonCanonical = errors.New("non-canonical encoding")
	// ErrTrailing: bytes follow the last field.
	ErrTrailing = errors.New("trailing bytes")
	// ErrBadVersion: a batch starts with a version this codec does not read.
	ErrBadVersion = errors.New("unknown batch version")
)
