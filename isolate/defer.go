package isolate

import (
	"errors"
	"fmt"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"

	"github.com/dop251/goja"
)

// Deferred replies: ctx.deferReply() takes the answer to the call whose
// turn is running out of that turn, as gen_server's noreply and reply/2
// do. The turn ends at once and the mailbox moves on; the reply handle it
// returns is a capability over the pending call, so it can be kept in
// module state or sent in a message like any capability, and it answers
// the call once, with reply(value) or fail(error), from any later turn of
// whichever process holds it.

// Replier is the part of a Host that defers replies. A host without it
// makes ctx.deferReply throw.
type Replier interface {
	// DeferReply takes the reply to the running turn's call out of the
	// turn and returns a capability that answers it once; it fails when
	// the turn answers no call.
	DeferReply() (*capability.Capability, error)
	// Reply answers the deferred call c designates with msg, or, when
	// fail is set, rejects it with fail. It fails when the call has been
	// answered already, or its callee's incarnation has ended.
	Reply(c *capability.Capability, msg *mailbox.Envelope, fail error) error
}

// ReplyTarget is the target of a reply handle's capability: a pending
// call, not a process. Handles over one have reply and fail methods.
type ReplyTarget interface {
	capability.Target
	// DeferredCall is a marker; it does nothing.
	DeferredCall()
}

// MaxDetached bounds the promises of deferred turns still running in one
// incarnation: a receive that deferred its reply and returned a promise
// no longer holds the mailbox, but its promise is watched for a rejection,
// which crashes the incarnation as an unhandled rejection would.
const MaxDetached = 10_000

// replyState is the call the running turn answers, if any.
type replyState struct {
	want     bool // the turn's message is a call
	deferred bool // ctx.deferReply took the reply out of the turn
}

// ErrNoCallToAnswer is a ctx.deferReply() outside a turn that answers a call.
var ErrNoCallToAnswer = errors.New("deferReply: the running turn answers no call")

// ErrReplied is a reply handle answered a second time, or after its
// callee's incarnation ended and the caller was told so.
var ErrReplied = errors.New("reply: the call has been answered already, or its callee's incarnation has ended")

// ErrTooManyDeferred is a ctx.deferReply() while the incarnation holds
// too many unanswered deferred replies.
var ErrTooManyDeferred = errors.New("too many deferred replies")

// ErrCallFailed rejects a call whose deferred reply was failed with r.fail(error).
var ErrCallFailed = errors.New("call failed")

// ctxDeferReply makes ctx.deferReply.
func (i *Isolate) ctxDeferReply() goja.Value {
	return i.fn("deferReply", func(goja.FunctionCall) goja.Value {
		rs := i.reply
		if rs == nil || !rs.want {
			panic(i.newError("Error", ErrNoCallToAnswer.Error()))
		}
		if rs.deferred {
			panic(i.newError("Error", "deferReply: the reply to this call has been deferred already"))
		}
		if len(i.detached) >= MaxDetached {
			panic(i.newError("RangeError", fmt.Sprintf("deferReply: %d deferred turns are still running; the limit is %d", len(i.detached), MaxDetached)))
		}
		r, ok := i.cfg.Host.(Replier)
		if !ok {
			panic(i.newError("Error", "deferReply: not supported by this host"))
		}
		c, err := r.DeferReply()
		if err != nil {
			i.throw(err)
		}
		rs.deferred = true
		i.clist.add(c)
		return i.handle(c)
	})
}

// replyMethod builds a reply handle's reply and fail methods.
func (i *Isolate) replyMethod(name string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		c := i.capOf(call.This, capability.Send, name)
		if _, ok := c.Target().(ReplyTarget); !ok {
			panic(i.newError("TypeError", name+": not a reply handle"))
		}
		r, ok := i.cfg.Host.(Replier)
		if !ok {
			panic(i.newError("Error", name+": not supported by this host"))
		}
		var env *mailbox.Envelope
		var fail error
		if name == "reply" {
			var err error
			if env, err = i.encode(call.Argument(0)); err != nil {
				i.throw(err)
			}
		} else {
			fail = errors.New(failReason(call.Argument(0)))
		}
		if err := r.Reply(c, env, fail); err != nil {
			i.throw(err)
		}
		return goja.Undefined()
	}
}

// failReason describes the value given to fail() as the caller will read
// it: an error as "Name: message", anything else as its string form.
func failReason(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "failed"
	}
	if _, ok := v.(*goja.Object); ok {
		_, msg := valueName(v)
		return truncate(msg, 4096)
	}
	return truncate(v.String(), 4096)
}

// isReplyHandle reports whether c designates a pending call.
func isReplyHandle(c *capability.Capability) bool {
	_, ok := c.Target().(ReplyTarget)
	return ok
}

// detach stops the running turn from waiting on p: its reply was
// deferred, so the mailbox moves on while p runs on.
func (i *Isolate) detach(p *goja.Promise) {
	if p.State() == goja.PromiseStatePending {
		i.detached = append(i.detached, p)
		return
	}
	if p.State() == goja.PromiseStateRejected {
		i.detachedErr = i.rejection(p.Result())
	}
}

// checkDetached drops the detached promises that have settled and returns
// the crash of the first that was rejected.
func (i *Isolate) checkDetached() error {
	if err := i.detachedErr; err != nil {
		i.detachedErr = nil
		return err
	}
	kept := i.detached[:0]
	var crash error
	for _, p := range i.detached {
		switch p.State() {
		case goja.PromiseStatePending:
			kept = append(kept, p)
		case goja.PromiseStateRejected:
			if crash == nil {
				crash = i.rejection(p.Result())
			}
		}
	}
	clear(i.detached[len(kept):])
	i.detached = kept
	return crash
}

// rejection describes an unhandled rejection with reason as a crash.
func (i *Isolate) rejection(reason goja.Value) *JSError {
	err := &JSError{Message: "unhandled rejection"}
	_ = i.run(func() error {
		name, msg := valueName(reason)
		err.Name, err.Message = name, "unhandled rejection: "+msg
		if o, ok := reason.(*goja.Object); ok {
			err.Stack = truncate(stringProp(o, "stack"), 16<<10)
		}
		return nil
	})
	return err
}
