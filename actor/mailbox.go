package actor

import (
	"fmt"

	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// Mailbox limits are checked where a message enters, on the sender's side
// of Node.signal, so a full mailbox pushes back on the sender at once. The
// bytes a message occupies are charged to the target's mailbox and to the
// sender's outbox until the message's turn starts or it is dropped.

// admit charges d to t's mailbox and its sender's outbox, or refuses it.
// Calls are registered so that they fail if t stops for good.
func (t *Process) admit(d *deliver) error {
	hit, err := t.charge(d)
	if hit != nil {
		t.node.emit(*hit) // after the lock: a subscriber may send
	}
	return err
}

func (t *Process) charge(d *deliver) (*LimitHit, error) {
	size := int64(d.env.Size())
	d.size = size
	lim := t.mbox
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	if t.life.retired {
		return nil, isolate.ErrNoProc
	}
	if f := d.from; f != nil && f.outbox.Load()+size > f.mbox.OutboxBytes {
		err := fmt.Errorf("%w: %s has %d bytes waiting in other mailboxes; its quota is %d",
			isolate.ErrMailboxFull, f.path, f.outbox.Load(), f.mbox.OutboxBytes)
		return &LimitHit{Path: f.path, Limit: "outbox", Err: err}, err
	}
	if t.queued.Load()+1 > int64(lim.Messages) || t.queuedBytes.Load()+size > lim.Bytes {
		if lim.Overflow != mailbox.DropOldest || size > lim.Bytes {
			err := fmt.Errorf("%w: %s holds %d messages (%d bytes); its limit is %d messages, %d bytes",
				isolate.ErrMailboxFull, t.path, t.queued.Load(), t.queuedBytes.Load(), lim.Messages, lim.Bytes)
			return &LimitHit{Path: t.path, Limit: "mailbox", Err: err}, err
		}
		// drop_oldest: the worker drops the oldest as they come up.
	}
	t.queued.Add(1)
	t.queuedBytes.Add(size)
	if f := d.from; f != nil {
		f.outbox.Add(size)
		if t.life.ledger == nil {
			t.life.ledger = make(map[*Process]int64)
		}
		t.life.ledger[f] += size
	}
	if d.call != nil {
		if t.life.calls == nil {
			t.life.calls = make(map[*callRef]struct{})
		}
		t.life.calls[d.call] = struct{}{}
	}
	return nil, nil
}

// release takes d off t's mailbox: its turn starts, or it is dropped.
func (t *Process) release(d *deliver) {
	t.queued.Add(-1)
	if d.size == 0 {
		return
	}
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	t.queuedBytes.Add(-d.size)
	if f := d.from; f != nil {
		if left := t.life.ledger[f] - d.size; left > 0 {
			t.life.ledger[f] = left
		} else {
			delete(t.life.ledger, f)
		}
		f.outbox.Add(-d.size)
	}
}

// dropOldest carries out drop_oldest: while the mailbox is over its limit,
// the oldest message that has reached the worker is dropped, and a dropped
// call is answered with MailboxFull. Messages still in transit count
// toward the limit, so the newest ones are the ones kept.
func (w *worker) dropOldest() {
	p := w.proc
	lim := p.mbox
	if lim.Overflow != mailbox.DropOldest {
		return
	}
	for p.queued.Load() > int64(lim.Messages) || p.queuedBytes.Load() > lim.Bytes {
		i := 0
		for i < len(p.stash) && p.stash[i].note != nil {
			i++ // notifications are never dropped
		}
		if i == len(p.stash) {
			return
		}
		d := p.stash[i]
		p.stash = append(p.stash[:i:i], p.stash[i+1:]...)
		p.dropped.Add(1)
		p.release(d)
		p.node.emit(LimitHit{Path: p.path, Limit: "mailbox", Err: fmt.Errorf("%w: dropped the oldest message (drop_oldest)", isolate.ErrMailboxFull)})
		if d.call != nil {
			p.answer(d.call, &reply{incarnation: d.call.incarnation, id: d.call.id,
				err: fmt.Errorf("%w: dropped from %s by drop_oldest", isolate.ErrMailboxFull, p.path)})
		}
	}
}

// Dropped counts messages dropped by the drop_oldest policy.
func (p *Process) Dropped() uint64 { return p.dropped.Load() }

// MailboxBytes is the size of the messages waiting for a turn.
func (p *Process) MailboxBytes() int64 { return p.queuedBytes.Load() }

// OutboxBytes is the size of this process's messages waiting in others' mailboxes.
func (p *Process) OutboxBytes() int64 { return p.outbox.Load() }

// MailboxLimits returns the limits of p's mailbox.
func (p *Process) MailboxLimits() mailbox.Limits { return p.mbox }
