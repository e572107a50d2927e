package actor

import (
	"time"
)

// TurnHeld is a turn that has held its process's mailbox longer than the
// node's TurnWarning: its receive awaits a promise, and nothing else in the
// mailbox runs until it settles. A call whose answer needs a later message
// (to this process, or from a process that waits on it) never comes that
// way: the turn should take its reply out with ctx.deferReply instead.
type TurnHeld struct {
	Path        string
	Incarnation uint64
	Held        time.Duration // how long the turn had held the mailbox when this was emitted
}

func (TurnHeld) event() {}

// DefaultTurnWarning is how long a turn may hold the mailbox before the
// node warns; see Options.TurnWarning.
const DefaultTurnWarning = 2 * time.Second

// heldCheck asks the worker whether turn seq of incarnation inc still
// holds the mailbox.
type heldCheck struct {
	inc   uint64
	seq   uint64
	since time.Time
}

// watchHeld arms the warning for the turn that has just gone pending.
func (w *worker) watchHeld() {
	d := w.proc.node.turnWarning
	if d <= 0 || w.iso == nil || !w.iso.Busy() {
		return
	}
	m, proc := &heldCheck{inc: w.inc, seq: w.proc.handled.Load(), since: time.Now()}, w.proc
	if w.held != nil {
		w.held.Stop()
	}
	w.held = time.AfterFunc(d, func() { proc.tell(m) })
}

// unwatchHeld disarms the warning: the turn that held the mailbox ended.
func (w *worker) unwatchHeld() {
	if w.held != nil {
		w.held.Stop()
		w.held = nil
	}
	w.proc.heldSince.Store(0)
}

// onHeld warns if the turn the check is for still holds the mailbox.
func (w *worker) onHeld(m *heldCheck) {
	if m.inc != w.inc || w.iso == nil || !w.iso.Busy() || w.proc.handled.Load() != m.seq {
		return
	}
	w.proc.heldSince.Store(m.since.UnixNano())
	w.proc.node.emit(TurnHeld{Path: w.proc.path, Incarnation: w.inc, Held: time.Since(m.since)})
}

// countBusy adds the time since start to the process's busy time.
func (p *Process) countBusy(start time.Time) { p.busy.Add(int64(time.Since(start))) }

// Busy is the time the process has spent handling what reached it, over
// all its incarnations: its turns (script code, and the host's work for
// them such as copying messages) and its runtime messages, timers and
// replies. Time a turn waits on a promise is not counted. It is wall time
// on the process's goroutine, so a busy machine inflates it.
func (p *Process) Busy() time.Duration { return time.Duration(p.busy.Load()) }

// TurnHeldSince is when the turn that holds p's mailbox now started to
// wait, if it has waited past the node's TurnWarning; the zero time
// otherwise.
func (p *Process) TurnHeldSince() time.Time {
	if ns := p.heldSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}
