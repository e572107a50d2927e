// Package codec is Cloister's message format for Go: it owns the MessagePack
// extension types that carry JS values msgpack has no form for, and maps
// messages to Go values and structs.
//
// A message is MessagePack with three extension types: undefined
// (ExtUndefined, an empty payload), a capability (ExtCapability, a
// big-endian uint32 index into the envelope's capability list) and a Date
// (ExtDate, big-endian float64 milliseconds since the epoch). In Go they are
// Undefined, *capability.Capability and time.Time; a Uint8Array is []byte.
//
//	type Job struct {
//		ID      int                    `msgpack:"id"`
//		Due     time.Time              `msgpack:"due"`
//		ReplyTo *capability.Capability `msgpack:"replyTo,omitempty"`
//	}
//	env, err := codec.Encode(Job{ID: 7, Due: time.Now(), ReplyTo: self})
//	...
//	var j Job
//	err = codec.Decode(env, &j) // ReplyTo is one of env.Caps()
//
// Marshal and Unmarshal are the same mapping for bare bytes, with no
// envelope: a capability there is an error.
//
// # Go values
//
// Encoding: bool, integers, floats and strings become their MessagePack
// forms; []byte becomes bin; slices and arrays become arrays; maps become
// maps whose keys are strings or integers written as strings (a JS object's
// keys are strings), in sorted order; a struct becomes a map of its exported
// fields, named by the `msgpack:"name,omitempty"` tag (or the field name;
// "-" skips a field), with the fields of an untagged embedded struct
// inlined. A nil pointer, slice, map or interface is nil (JS null).
// time.Time is a Date, to the millisecond. Integers beyond 2^53 lose
// precision in JS, as any JS number would.
//
// Decoding into any gives nil, bool, int64 (uint64 above MaxInt64),
// float64, string, []byte, []any, map[string]any, Undefined, time.Time (UTC)
// or *capability.Capability. Into typed values a number must fit the
// target (3.0 fits an int, 3.5 does not), a map fills a struct by tag or
// field name (then ignoring case), keys with no field are skipped, and
// undefined or nil leave a value at its zero. An invalid Date decodes to
// the zero time.Time. Types' own msgpack or encoding methods are not used:
// the mapping is the one above, the same for every program.
//
// # Untrusted input
//
// Decoding never panics; malformed or truncated input, bytes after the
// value, unknown extension types, a capability index out of range and more
// than MaxDepth nested arrays and maps are errors wrapping ErrMalformed. A
// header that claims more elements than bytes remain fails at once, so what
// decoding allocates grows with the input's size: at most a few dozen bytes
// per input byte into any, and per element the size of the Go type decoded
// into.
//
// # Imports
//
// codec imports capability and mailbox and nothing else of Cloister;
// isolate (the JS side of the same format) and actor import it.
package codec
