// Package mailbox holds what travels between Cloister processes and where
// it waits: envelopes, the bounded queue of each process, its overflow
// policies and quotas.
//
// An Envelope is one message: msgpack bytes plus the capabilities
// transferred with them. It is immutable once built and owned by no
// isolate, so it can be queued, kept across a restart and delivered to a
// fresh incarnation.
//
// A Mailbox counts and limits what waits for one process: messages and
// bytes (Limits), and the bytes of the process's own messages waiting at
// others (its outbox quota). A sender's message is admitted or refused on
// the sender's side, before it is queued:
//
//	mb := mailbox.New("pool/3", mailbox.Limits{Messages: 100})
//	if err := mb.Admit(int64(env.Size()), sender); err != nil {
//		// errors.Is(err, mailbox.ErrMailboxFull); a *LimitError says which limit
//	}
//
// A Queue holds the admitted messages that have reached the process, in
// arrival order, for its own goroutine; under the drop_oldest policy
// Queue.DropOldest takes the oldest message in constant time.
package mailbox
