package mailbox

import (
	"errors"
	"fmt"
)

// ErrMailboxFull is a message refused by the target's mailbox limits or by
// its sender's outbox quota, and the answer to a call that drop_oldest
// dropped. A script sees it as a MailboxFull error.
var ErrMailboxFull = errors.New("mailbox full")

// ErrClosed is a message offered to a mailbox whose process has stopped
// for good.
var ErrClosed = errors.New("mailbox closed")

// Which limit a LimitError names.
const (
	LimitMailbox = "mailbox" // the target's messages or bytes
	LimitOutbox  = "outbox"  // the sender's bytes waiting in other mailboxes
)

// LimitError is a message refused by a limit: which one, whose it is, and
// the counts that refused it. It wraps ErrMailboxFull.
type LimitError struct {
	Name  string // the mailbox's owner, e.g. a process path
	Limit string // LimitMailbox or LimitOutbox

	Messages, MaxMessages int64 // LimitMailbox: messages waiting and the limit
	Bytes, MaxBytes       int64 // their bytes and the limit (for LimitOutbox, the outbox's)
}

func (e *LimitError) Error() string {
	if e.Limit == LimitOutbox {
		return fmt.Sprintf("%v: %s has %d bytes waiting in other mailboxes; its quota is %d",
			ErrMailboxFull, e.Name, e.Bytes, e.MaxBytes)
	}
	return fmt.Sprintf("%v: %s holds %d messages (%d bytes); its limit is %d messages, %d bytes",
		ErrMailboxFull, e.Name, e.Messages, e.Bytes, e.MaxMessages, e.MaxBytes)
}

// Unwrap returns ErrMailboxFull.
func (e *LimitError) Unwrap() error { return ErrMailboxFull }
