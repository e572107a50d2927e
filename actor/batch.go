package actor

import (
	proto "github.com/asynkron/protoactor-go/actor"
)

// protoactor hands a worker one message at a time, so a worker that ran
// each message's turn as it arrived would never see a run of them. When
// more messages are known to be on their way to the process (its mailbox
// counts more than the worker has stashed), a worker stashes a message
// and waits for the ones behind it, up to maxGather, then runs them as
// one run of turns (drain, isolate.BeginRun). So that the wait ends even
// if the messages counted are slow to arrive, or never do (a send that
// failed after it was counted), the worker posts itself a runDue behind
// them: when it arrives, the stash is drained.
//
// Nothing else changes order: any other message (a reply, a timer, a
// signal, an operator's request) first runs the stashed messages, which
// came before it, then is handled. If one of them crashes the
// incarnation, the message being handled is posted again to the process,
// for the next incarnation, as it would have reached it had the crash
// happened in the stashed message's own turn; it now comes after the
// messages queued meanwhile. System messages (a stop, a restart) do not
// run them: they find them queued, as they find the messages still in
// the mailbox.

// maxGather bounds the messages stashed for one run.
const maxGather = 64

// runDue ends a worker's wait for the messages behind a stashed one.
type runDue struct{}

var runDueMsg = &runDue{}

// gathered reports whether stashed messages wait for their run.
func (w *worker) gathered() bool {
	return w.iso != nil && w.proc.stash.Len() > 0 && !w.iso.Busy() && w.stopping == ""
}

// gather reports whether d, just stashed, should wait for the messages
// behind it; if so, a runDue is on its way.
func (w *worker) gather(c proto.Context, d *deliver) bool {
	if d.web != nil || w.iso == nil || w.iso.Busy() || w.stopping != "" {
		return false
	}
	n := w.proc.stash.Len()
	if n >= maxGather {
		return false // the run is long enough
	}
	if w.runPosted {
		// The runDue on its way ends the wait: the mailbox's count,
		// which every sender writes, is read once per run, not once per
		// message.
		return true
	}
	if w.proc.mb.Len() <= int64(n) {
		return false // nothing more is on its way
	}
	w.runPosted = true
	c.Send(c.Self(), runDueMsg)
	return true
}

// flushGathered runs the stashed messages before the message being
// handled; see above for a crash among them.
func (w *worker) flushGathered(c proto.Context) {
	ran := false
	defer func() {
		if !ran {
			c.Send(c.Self(), c.Message())
		}
	}()
	w.drain(c)
	ran = true
}
