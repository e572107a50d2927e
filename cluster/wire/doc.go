// Package wire defines the frames that Cloister nodes exchange over their
// cluster transport, and the contract between a node (package actor) and
// the transport that carries its frames (package cluster). It imports no
// other Cloister package, so both sides can depend on it.
//
// Every frame a peer sends is untrusted: it is read by the bounds-checked
// decoder in codec.go, and the receiving node checks every token and path
// it names against its own tables before it acts.
//
// # Encoding
//
// A frame is encoded in a compact binary form: a kind byte, a flags byte,
// then its fields as minimal unsigned varints and length-prefixed strings
// (the layout is written out in codec.go). The encoding is canonical: the
// decoder accepts exactly the bytes the encoder writes, so a frame that
// decodes encodes back to the same bytes. Every length is checked against
// the bytes that remain and against a hard limit (MaxString, MaxCaps,
// MaxFrameSize) before anything is allocated; unknown kinds, error codes
// and flag bits, and trailing bytes, are rejected with an error wrapping
// ErrMalformed. A decoded frame never aliases its input, but for the
// frames a Decoder lends: a transport decodes every batch with one
// Decoder, reusing its frames, for a Handler that copies what it keeps
// (Borrower).
//
// A batch carries several frames in one transport message, in order: a
// version byte (BatchVersion), then each frame's length and bytes.
//
//	var b wire.Batch
//	if err := b.AddFrame(&wire.Frame{Kind: wire.KindSend, To: ref, Env: env}); err != nil {
//		return err // the frame breaks a limit
//	}
//	publish(b.Bytes())
//
//	frames, err := wire.DecodeBatch(msg) // all frames, or none and an error
package wire
