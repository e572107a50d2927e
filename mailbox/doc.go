// Package mailbox defines what travels between Cloister processes: an
// envelope of msgpack bytes plus the capabilities transferred with them.
//
// An envelope is immutable once built and owned by no isolate, so it can be
// queued, kept across a restart and delivered to a fresh incarnation:
//
//	env := mailbox.NewEnvelope(data, caps)
//	size := env.Size() // charged against mailbox and message-size limits
package mailbox
