package mailbox

import (
	"sync"
	"sync/atomic"
)

// Mailbox is the accounting side of one process's mailbox: the messages
// and bytes waiting for a turn, counted from the moment a sender's message
// is admitted, and the bytes of the owner's own messages waiting in other
// mailboxes (its outbox). Admission is checked on the sender's side, so a
// full mailbox pushes back on the sender at once; the bytes of a message
// are charged to the target and to the sender's outbox until the message's
// turn starts or it is dropped.
//
// Every method is safe for concurrent use. The messages themselves wait in
// a Queue that only the owner's goroutine touches.
type Mailbox struct {
	name string
	lim  Limits

	messages atomic.Int64 // admitted messages and notices not yet released
	bytes    atomic.Int64 // their bytes
	outbox   atomic.Int64 // the owner's bytes waiting in other mailboxes
	dropped  atomic.Uint64

	mu     sync.Mutex
	closed bool
	// The bytes waiting here, by sender; mu guards them. A mailbox mostly
	// hears from one sender at a time: that one is kept in one and
	// oneBytes, the others in ledger, each sender in one place at most.
	one      *Mailbox
	oneBytes int64
	ledger   map[*Mailbox]int64
}

// New returns an open mailbox for the process called name, with lim (zero
// fields take the package defaults).
func New(name string, lim Limits) *Mailbox {
	return &Mailbox{name: name, lim: lim.WithDefaults(Limits{})}
}

// Admit charges a message of size bytes, sent by the owner of from (nil
// for a sender outside any process), to m and to from's outbox, or refuses
// it: with ErrClosed if m is closed, with a *LimitError if from's outbox
// quota or, under the Reject policy, m's limits would be passed. Under
// DropOldest a message over the limits is admitted (unless it alone is
// larger than the byte limit) and the owner drops the oldest waiting ones
// (see Over and Queue.DropOldest).
func (m *Mailbox) Admit(size int64, from *Mailbox) error {
	if from != nil && !from.reserve(size) {
		return &LimitError{Name: from.name, Limit: LimitOutbox, Bytes: from.outbox.Load(), MaxBytes: from.lim.OutboxBytes}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.check(size)
	if err != nil {
		if from != nil {
			from.outbox.Add(-size)
		}
		return err
	}
	m.messages.Add(1)
	m.bytes.Add(size)
	if from != nil {
		m.owe(from, size)
	}
	return nil
}

// owe adds size to what from has waiting here; m.mu is held.
func (m *Mailbox) owe(from *Mailbox, size int64) {
	switch {
	case m.one == from:
		m.oneBytes += size
	case m.one == nil && len(m.ledger) == 0:
		m.one, m.oneBytes = from, size
	default:
		if m.ledger == nil {
			m.ledger = make(map[*Mailbox]int64)
		}
		m.ledger[from] += size
	}
}

// check decides on one more message of size bytes; m.mu is held.
func (m *Mailbox) check(size int64) error {
	if m.closed {
		return ErrClosed
	}
	n, b := m.messages.Load(), m.bytes.Load()
	if n+1 <= int64(m.lim.Messages) && b+size <= m.lim.Bytes {
		return nil
	}
	if m.lim.Overflow == DropOldest && size <= m.lim.Bytes {
		return nil
	}
	return &LimitError{Name: m.name, Limit: LimitMailbox, Messages: n, MaxMessages: int64(m.lim.Messages), Bytes: b, MaxBytes: m.lim.Bytes}
}

// reserve adds size to the outbox if the quota allows it.
func (m *Mailbox) reserve(size int64) bool {
	for {
		cur := m.outbox.Load()
		if cur+size > m.lim.OutboxBytes {
			return false
		}
		if m.outbox.CompareAndSwap(cur, cur+size) {
			return true
		}
	}
}

// ChargeOutbox charges size bytes to m's outbox: a message of m's owner
// on its way to another node, which no mailbox here admits. It refuses
// with a *LimitError (LimitOutbox) past the quota, as Admit does.
// ReturnOutbox gives the bytes back once the other node has taken the
// message.
func (m *Mailbox) ChargeOutbox(size int64) error {
	if !m.reserve(size) {
		return &LimitError{Name: m.name, Limit: LimitOutbox, Bytes: m.outbox.Load(), MaxBytes: m.lim.OutboxBytes}
	}
	return nil
}

// ReturnOutbox gives back size bytes that ChargeOutbox charged.
func (m *Mailbox) ReturnOutbox(size int64) { m.outbox.Add(-size) }

// AddNotice counts a runtime notice (a down or exit notification) as a
// waiting message: it takes no bytes, no limit refuses it, and drop_oldest
// never drops it. Release it with Release(0, nil).
func (m *Mailbox) AddNotice() { m.messages.Add(1) }

// Release takes an admitted message of size bytes from from off m: its
// turn has started, or it was dropped. It gives the bytes back to m and to
// from's outbox. After Close it does nothing: Close released everything.
func (m *Mailbox) Release(size int64, from *Mailbox) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.messages.Add(-1)
	m.bytes.Add(-size)
	if from == nil || size == 0 {
		return
	}
	if m.one == from {
		if m.oneBytes -= size; m.oneBytes <= 0 {
			m.one, m.oneBytes = nil, 0
		}
	} else if left := m.ledger[from] - size; left > 0 {
		m.ledger[from] = left
	} else {
		delete(m.ledger, from)
	}
	from.outbox.Add(-size)
}

// Drop releases a message that the drop_oldest policy dropped, and counts it.
func (m *Mailbox) Drop(size int64, from *Mailbox) {
	m.dropped.Add(1)
	m.Release(size, from)
}

// Over reports whether m holds more than its limits allow, which only
// drop_oldest permits: the owner then drops the oldest waiting message.
func (m *Mailbox) Over() bool {
	return m.messages.Load() > int64(m.lim.Messages) || m.bytes.Load() > m.lim.Bytes
}

// Close empties m for good: every sender's outbox gets back the bytes it
// has waiting here, the counts go to zero, and Admit refuses with
// ErrClosed until Reopen. Safe to call twice.
func (m *Mailbox) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.one != nil {
		m.one.outbox.Add(-m.oneBytes)
	}
	for from, b := range m.ledger {
		from.outbox.Add(-b)
	}
	m.one, m.oneBytes, m.ledger = nil, 0, nil
	m.messages.Store(0)
	m.bytes.Store(0)
}

// Reopen lets Admit accept messages again: the owner runs anew.
func (m *Mailbox) Reopen() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = false
}

// Limits returns m's limits, with the defaults filled in.
func (m *Mailbox) Limits() Limits { return m.lim }

// Len is the number of messages (and notices) waiting for a turn, those
// still on their way to the owner's queue included.
func (m *Mailbox) Len() int64 { return m.messages.Load() }

// Bytes is the size of the messages waiting for a turn.
func (m *Mailbox) Bytes() int64 { return m.bytes.Load() }

// OutboxBytes is the size of the owner's messages waiting in other mailboxes.
func (m *Mailbox) OutboxBytes() int64 { return m.outbox.Load() }

// Dropped counts the messages dropped by the drop_oldest policy.
func (m *Mailbox) Dropped() uint64 { return m.dropped.Load() }
