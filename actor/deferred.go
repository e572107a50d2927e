package actor

import (
	"fmt"
	"sync/atomic"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// replyTarget is a call whose reply its callee deferred with
// ctx.deferReply: the target of a reply handle's capability. It answers
// the call once; the callee's incarnation ending first answers it with the
// reason the incarnation ended. Safe for concurrent use.
type replyTarget struct {
	id     uint64
	callee *Process
	call   *callRef
	done   atomic.Bool
}

// TargetID implements capability.Target.
func (t *replyTarget) TargetID() uint64 { return t.id }

// DeferredCall implements isolate.ReplyTarget.
func (t *replyTarget) DeferredCall() {}

// settle answers the call with r unless it has been answered.
func (t *replyTarget) settle(r *reply) bool {
	if !t.done.CompareAndSwap(false, true) {
		return false
	}
	r.incarnation, r.id = t.call.incarnation, t.call.id
	t.callee.answer(t.call, r)
	return true
}

// maxDeferred bounds the deferred replies an incarnation holds unanswered.
const maxDeferred = 10_000

// DeferReply implements isolate.Replier.
func (h *host) DeferReply() (*capability.Capability, error) {
	w := h.w()
	d := w.current
	if d == nil || d.call == nil {
		return nil, isolate.ErrNoCallToAnswer
	}
	if len(w.deferred) >= maxDeferred {
		for t := range w.deferred {
			if t.done.Load() {
				delete(w.deferred, t)
			}
		}
		if len(w.deferred) >= maxDeferred {
			err := fmt.Errorf("%w: %d are unanswered; the limit is %d", isolate.ErrTooManyDeferred, len(w.deferred), maxDeferred)
			w.report(LimitHit{Path: w.proc.path, Limit: "deferred_replies", Err: err})
			return nil, err
		}
	}
	t := &replyTarget{id: w.proc.node.nextID.Add(1), callee: w.proc, call: d.call}
	if w.deferred == nil {
		w.deferred = make(map[*replyTarget]struct{})
	}
	w.deferred[t] = struct{}{}
	return capability.New(t, capability.Send), nil
}

// Reply implements isolate.Replier: any process holding the handle may answer.
func (h *host) Reply(c *capability.Capability, msg *mailbox.Envelope, fail error) error {
	if err := c.Check(capability.Send, "reply"); err != nil {
		h.proc.node.emit(Denied{Op: "reply", Err: err, Path: h.proc.path})
		return err
	}
	t, ok := c.Target().(*replyTarget)
	if !ok || t.callee.node != h.proc.node {
		return isolate.ErrNoProc
	}
	r := &reply{env: msg}
	if fail != nil {
		r.env, r.err = nil, fmt.Errorf("%w: %s", isolate.ErrCallFailed, fail.Error())
	}
	if !t.settle(r) {
		return isolate.ErrReplied
	}
	return nil
}

// failDeferred answers the replies this incarnation deferred and did not
// answer: the caller learns why the incarnation ended, as a caller whose
// callee crashed mid-turn does.
//
// An answer that panics does not keep the others from theirs: the first
// panic is raised once every caller has been answered.
func (w *worker) failDeferred(reason string) {
	deferred := w.deferred
	w.deferred = nil
	var failed *stepPanic
	for t := range deferred {
		r := &reply{err: fmt.Errorf("%w: %s (its reply was deferred and never answered)", isolate.ErrCalleeCrashed, reason)}
		if sp := guarded(func() { t.settle(r) }); sp != nil && failed == nil {
			failed = sp
		}
	}
	if failed != nil {
		panic(failed)
	}
}
