package actor

import (
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// A process's mailbox is a mailbox.Mailbox, which counts and limits what
// waits for it, and a mailbox.Queue of the messages that have reached its
// goroutine. Limits are checked where a message enters, on the sender's
// side of Node.signal, so a full mailbox pushes back on the sender at once.

// admit charges d to t's mailbox and its sender's outbox, or refuses it.
// Calls are registered so that they fail if t stops for good.
func (t *Process) admit(d *deliver) error {
	err := t.charge(d)
	if err == nil {
		return nil // le below escapes: declared only on refusal
	}
	var le *mailbox.LimitError
	if errors.As(err, &le) && (!d.parking || le.Limit != mailbox.LimitMailbox) {
		if d.byScript {
			d.refused = true // the worker reports it (worker.signal)
			return err
		}
		t.node.emit(LimitHit{Path: le.Name, Limit: le.Limit, Err: err}) // after the lock: a subscriber may send
	}
	return err
}

func (t *Process) charge(d *deliver) error {
	d.size = int64(d.env.Size())
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	if t.life.retired {
		return isolate.ErrNoProc
	}
	if err := t.mb.Admit(d.size, d.from.mailbox()); err != nil {
		if errors.Is(err, mailbox.ErrClosed) {
			return isolate.ErrNoProc
		}
		return err
	}
	if d.call != nil {
		if t.life.calls == nil {
			t.life.calls = make(map[*callRef]struct{})
		}
		t.life.calls[d.call] = struct{}{}
	}
	return nil
}

// mailbox is p's mailbox, or nil for a sender outside any process.
func (p *Process) mailbox() *mailbox.Mailbox {
	if p == nil {
		return nil
	}
	return p.mb
}

// release takes d off t's mailbox: its turn starts, or it is dropped.
func (t *Process) release(d *deliver) {
	t.mb.Release(d.size, d.from.mailbox())
	if r := t.node.remote; r != nil {
		r.flow.wake() // a message from another node may wait for the room
	}
}

// dropOldest carries out drop_oldest: while the mailbox is over its limit,
// the oldest message that has reached the worker is dropped, and a dropped
// call is answered with MailboxFull. Messages still in transit count
// toward the limit, so the newest ones are the ones kept.
func (w *worker) dropOldest() {
	p := w.proc
	if p.mb.Limits().Overflow != mailbox.DropOldest {
		return
	}
	for p.mb.Over() {
		d, ok := p.stash.DropOldest() // notifications are never dropped
		if !ok {
			return
		}
		p.mb.Drop(d.size, d.from.mailbox())
		p.node.emit(LimitHit{Path: p.path, Limit: mailbox.LimitMailbox, Err: fmt.Errorf("%w: dropped the oldest message (drop_oldest)", mailbox.ErrMailboxFull)})
		if d.call != nil {
			p.answer(d.call, &reply{incarnation: d.call.incarnation, id: d.call.id,
				err: fmt.Errorf("%w: dropped from %s by drop_oldest", mailbox.ErrMailboxFull, p.path)})
		}
	}
}

// Dropped counts messages dropped by the drop_oldest policy.
func (p *Process) Dropped() uint64 { return p.mb.Dropped() }

// MailboxDepth is the number of messages waiting for a turn.
func (p *Process) MailboxDepth() int64 { return p.mb.Len() }

// MailboxBytes is the size of the messages waiting for a turn.
func (p *Process) MailboxBytes() int64 { return p.mb.Bytes() }

// OutboxBytes is the size of this process's messages waiting in others' mailboxes.
func (p *Process) OutboxBytes() int64 { return p.mb.OutboxBytes() }

// MailboxLimits returns the limits of p's mailbox.
func (p *Process) MailboxLimits() mailbox.Limits { return p.mb.Limits() }
