package mailbox

import "fmt"

// Overflow is what a full mailbox does with one more message.
type Overflow string

// Overflow policies.
const (
	// Reject refuses the new message: the sender's send throws MailboxFull
	// and its call rejects.
	Reject Overflow = "reject"
	// DropOldest accepts the new message and drops the oldest one waiting;
	// a dropped call is answered with MailboxFull.
	DropOldest Overflow = "drop_oldest"
)

// ParseOverflow accepts the manifest's names of the policies.
func ParseOverflow(s string) (Overflow, error) {
	switch Overflow(s) {
	case Reject, DropOldest:
		return Overflow(s), nil
	}
	return "", fmt.Errorf("unknown overflow policy %q (want reject or drop_oldest)", s)
}

// Limits bound one process's mailbox and what it may queue at others.
type Limits struct {
	Messages int      // messages waiting for a turn
	Bytes    int64    // their encoded size (Envelope.Size)
	Overflow Overflow // what happens past either bound
	// OutboxBytes bounds the bytes of this process's messages waiting in
	// other processes' mailboxes, so a flooder is pushed back before its
	// victims' queues grow.
	OutboxBytes int64
}

// Defaults for every process that sets no limit of its own.
const (
	DefaultMessages    = 10_000
	DefaultBytes       = 16 << 20
	DefaultOverflow    = Reject
	DefaultOutboxBytes = 64 << 20
)

// WithDefaults fills the zero fields from d, then from the package defaults.
func (l Limits) WithDefaults(d Limits) Limits {
	if l.Messages <= 0 {
		l.Messages = d.Messages
	}
	if l.Messages <= 0 {
		l.Messages = DefaultMessages
	}
	if l.Bytes <= 0 {
		l.Bytes = d.Bytes
	}
	if l.Bytes <= 0 {
		l.Bytes = DefaultBytes
	}
	if l.Overflow == "" {
		l.Overflow = d.Overflow
	}
	if l.Overflow == "" {
		l.Overflow = DefaultOverflow
	}
	if l.OutboxBytes <= 0 {
		l.OutboxBytes = d.OutboxBytes
	}
	if l.OutboxBytes <= 0 {
		l.OutboxBytes = DefaultOutboxBytes
	}
	return l
}
