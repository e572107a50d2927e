package actor

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"

	proto "github.com/asynkron/protoactor-go/actor"
)

// worker is one incarnation of a script process bound to a protoactor
// actor. protoactor recreates it on every restart in place, keeping the
// mailbox, so messages queued for a crashed incarnation reach the next one.
type worker struct {
	proc *Process
	inc  uint64
	iso  *isolate.Isolate

	current  *deliver // the message whose turn is running or awaited
	crash    *Crash   // set by a turn that ended the incarnation
	stopping string   // set by ctx.stop

	timers map[uint64]*time.Timer
	nextID uint64
	calls  map[uint64]*time.Timer // the host's own requests awaiting a reply, with their timeouts; made on first use
	waits  callWaits              // the script's calls awaiting a reply (calltimeout.go)

	// The flags side by side: a worker fills its 288-byte size class.
	started     bool
	trapExits   bool // exit signals arrive as notifications
	inspecting  bool // inspect() is running
	initPending bool // init has not finished
	runPosted   bool // a runDue is on its way to this actor; see batch.go

	inspects  map[uint64]struct{}       // this incarnation's cap.inspect() requests awaiting an answer
	endReason string                    // why the incarnation ended, once it has
	deferred  map[*replyTarget]struct{} // replies deferred by ctx.deferReply; see deferred.go
	held      *time.Timer               // the warning for a turn holding the mailbox; see held.go

	readyFor  readyRef    // the supervisor's wait for this incarnation's init, if any
	initTimer *time.Timer // the start timeout when no supervisor waits

	gate  *gate       // the output gate, when the process has storage (storage.go)
	alarm workerAlarm // the storage alarm's timer (storage.go)

	console  *consoleBudget // see console.go; made on first use
	refusals *refusalBudget // the same, for refusals reported as events

	// received is the message whose receive turn received reports on;
	// received is made once, on the incarnation's first message, so that
	// a turn does not allocate the callback it hands the isolate.
	receivedMsg *deliver
	received    func(isolate.Outcome)
}

func newWorker(p *Process) proto.Actor {
	return &worker{proc: p}
}

// awaitCall records t, the timeout of the host's request id.
func (w *worker) awaitCall(id uint64, t *time.Timer) {
	if w.calls == nil {
		w.calls = make(map[uint64]*time.Timer)
	}
	w.calls[id] = t
}

// receiveDone is what a receive turn for d reports to. The isolate calls
// it exactly once, and starts no other receive turn before it has (a turn
// awaiting its promise keeps the isolate busy), so one callback per
// incarnation serves every message.
func (w *worker) receiveDone(d *deliver) func(isolate.Outcome) {
	w.receivedMsg = d
	if w.received == nil {
		w.received = func(o isolate.Outcome) {
			d := w.receivedMsg
			w.receivedMsg = nil
			w.turnDone(d, o)
		}
	}
	return w.received
}

// Receive implements proto.Actor. A crash panics with a *Crash, which
// protoactor's mailbox recovers and hands to the supervisor.
func (w *worker) Receive(c proto.Context) {
	w.proc.node.dispatch.moreInRun() // this run goes on: a wake-up it left waits no longer
	if w.iso != nil {
		// The mailbox run this message arrived in (dispatch.go); a pin
		// that is not this goroutine's is never seen: runs of one
		// mailbox do not overlap.
		w.iso.UsePin(w.proc.pin.Load())
	}
	if w.gathered() {
		switch c.Message().(type) {
		case *deliver, *runDue, *proto.Started, *proto.Stopping, *proto.Restarting, *proto.Stopped:
		default:
			w.flushGathered(c) // they came first: they run first, as they would have
		}
	}
	switch m := c.Message().(type) {
	case *proto.Started:
		// The supervisor stores the PID once SpawnNamed returns, which can be
		// after init has run: a timer or a self-send in init needs it now.
		w.proc.pid.Store(c.Self())
		if w.proc.retired() {
			w.proc.signalReady(nil) // its supervisor must not wait for it
			return                  // stopped by the operator; a racing restart must not revive it
		}
		w.start()
	case *deliver:
		w.proc.stash.PushMessage(m)
		w.dropOldest()
		if w.gather(c, m) {
			return // its turn comes with the run of the messages behind it
		}
	case *runDue:
		w.runPosted = false
		if w.iso == nil {
			return
		}
	case *reply:
		if m.incarnation == w.inc {
			if t, ok := w.calls[m.id]; ok {
				t.Stop()
				delete(w.calls, m.id)
				delete(w.inspects, m.id)
				w.check(w.iso.SettleCall(m.id, m.env, m.err))
			} else if w.waits.done(m.id) {
				w.check(w.iso.SettleCall(m.id, m.env, m.err))
			}
		}
	case *callsDue:
		if m.inc == w.inc {
			w.waits.expired(w.proc, w.inc, func(id uint64, err error) { w.check(w.iso.SettleCall(id, nil, err)) })
		}
	case *timerFire:
		if m.incarnation == w.inc {
			delete(w.timers, m.id)
			w.check(w.iso.FireTimer(m.id))
		}
	case *sendLater:
		if m.incarnation == w.inc {
			delete(w.timers, m.id)
			if w.iso != nil {
				w.iso.TimerDone(m.id) // refunds the memory the parked message held
			}
			_ = w.signal(m.target, "sendAfter", &deliver{env: m.env, from: w.proc})
		}
	case *alarmFire:
		if m.inc == w.inc {
			w.alarm.due = m // run by drain once no turn is awaiting
		}
	case *exitSignal:
		w.onExit(m)
	case *initTimeout:
		w.onInitTimeout(m)
	case *webAbort:
		w.abortWeb(m)
	case *heldCheck:
		w.onHeld(m)
	case *downNote:
		if m.inc == w.inc {
			w.proc.mb.AddNotice()
			w.proc.stash.PushNotice(&deliver{note: m.notification(),
				noteInc: m.inc, counted: m.counted})
		} else if m.counted {
			w.proc.signals.Add(-1) // for an incarnation that has ended
		}
	case *stopSelf:
		if m.incarnation == w.inc {
			c.Stop(c.Self())
		}
		return
	case *proto.Stopping:
		w.stop(c)
		return
	case *proto.Restarting:
		w.restarting()
		return
	case *proto.Stopped:
		w.proc.setStatus(StatusStopped)
		defer w.proc.signalStopped()
		w.proc.stoppedStep(w.inc, "retiring", w.proc.retire) // a pending call's answer
		// Stopped for good (a restart is Restarting): no incarnation will
		// handle the sockets' frames, so their clients are told now, not
		// at their next frame.
		closeSockets(w.proc)
		reason := w.stopping
		if reason == "" {
			reason = w.endReason
		}
		if reason == "" {
			reason = ReasonShutdown
		}
		w.proc.node.emit(Stopped{Path: w.proc.path, Reason: reason})
		return
	default:
		w.operatorMessage(m)
		return
	}
	w.drain(c)
}

// start creates a fresh isolate and runs init: the first turn.
func (w *worker) start() {
	p := w.proc
	w.inc = p.incarnation.Add(1)
	p.endHint.Store(nil)
	p.ops.overdue.Store(false)
	if w.inc > 1 {
		p.restarts.Add(1)
		p.setStatus(StatusRestarting)
	}
	w.armStart()
	var st *storage.Store
	if p.spec.Storage {
		// A backend that panics as it opens fails the start at once, with
		// its stack, as one that returns an error does.
		stack, err := startGuarded("opening storage", func() (err error) {
			st, err = w.openStorage()
			return err
		})
		if err != nil {
			w.initDone()
			p.signalReady(err)
			cr := w.newCrash(nil, err)
			cr.Reason, cr.Stack = ReasonStorage, stack
			w.crashWith(cr)
		}
	}
	iso, err := isolate.New(p.code(), isolate.Config{
		Name:    p.path,
		Self:    capability.New(p, capability.All),
		Env:     p.grants,
		Limits:  p.node.limitsFor(p.spec.Limits),
		Host:    (*host)(w),
		Storage: st,
	})
	if err != nil {
		w.initDone()
		p.signalReady(p.startError(err))
		w.fail(nil, crashReason(err), err)
	}
	w.iso = iso
	p.liveIso.Store(iso)
	w.started = true
	p.begin(w.inc)
	p.setStatus(StatusRunning)
	p.node.emit(Started{Path: p.path, Incarnation: w.inc})
	args := p.initArgs
	if args == nil && p.spec.Args != nil {
		args = mailbox.NewEnvelope(p.spec.Args, nil)
	}
	w.iso.Init(args, func(o isolate.Outcome) {
		w.initDone()
		p.signalReady(p.startError(o.Crash))
		if o.Crash != nil {
			w.crash = w.newCrash(nil, o.Crash)
		}
	})
	w.check(nil)
}

// drain starts turns for stashed messages until a turn awaits a promise.
// Several stashed messages run as a run of turns (isolate.BeginRun): each
// is still a turn of its own, see batch.go.
func (w *worker) drain(c proto.Context) {
	w.runDueAlarm()
	if w.proc.stash.Len() > 1 && !w.iso.Busy() && w.stopping == "" {
		w.iso.BeginRun()
		defer w.iso.EndRun() // a crash's panic too
	}
	for !w.iso.Busy() && w.proc.stash.Len() > 0 && w.stopping == "" {
		if w.iso.RunFull() {
			w.iso.EndRun()
			w.iso.BeginRun()
		}
		d, _ := w.proc.stash.Pop()
		w.proc.release(d)
		w.proc.handled.Add(1)
		w.current = d
		if d.note != nil {
			if d.counted {
				w.proc.signals.Add(-1)
			}
			if d.noteInc != 0 && d.noteInc != w.inc {
				w.current = nil
				continue // for an incarnation that has ended
			}
			w.iso.Notify(*d.note, func(o isolate.Outcome) { w.turnDone(d, o) })
			w.check(nil)
			continue
		}
		if d.web != nil {
			w.webTurn(d)
			continue
		}
		w.iso.Receive(d.env, d.call != nil, w.timed(w.receiveDone(d)))
		w.watchHeld()
		w.check(nil)
	}
	if w.stopping != "" && !w.iso.Busy() {
		w.exit(c)
	}
}

// turnDone answers the caller, if any, and records a crash.
func (w *worker) turnDone(d *deliver, o isolate.Outcome) {
	if w.current == d {
		w.current = nil
	}
	w.unwatchHeld()
	if d.call != nil && (!o.Deferred || o.Crash != nil) {
		r := &reply{incarnation: d.call.incarnation, id: d.call.id, env: o.Reply, err: o.ReplyErr}
		if o.Crash != nil {
			r.env, r.err = nil, fmt.Errorf("%w: %s", isolate.ErrCalleeCrashed, crashReason(o.Crash))
		}
		if o.Crash != nil {
			w.proc.answer(d.call, r)
		} else {
			w.answerGated(d.call, r) // after the turn's writes commit
		}
	}
	if o.Crash != nil {
		w.crash = w.newCrash(d, o.Crash)
	}
}

// check ends the incarnation if err or a finished turn crashed it.
func (w *worker) check(err error) {
	if err != nil && w.crash == nil {
		w.crash = w.newCrash(w.current, err)
		if w.current != nil && w.current.call != nil {
			w.proc.answer(w.current.call, &reply{incarnation: w.current.call.incarnation, id: w.current.call.id,
				err: fmt.Errorf("%w: %s", isolate.ErrCalleeCrashed, crashReason(err))})
		}
	}
	if w.crash != nil {
		cr := w.crash
		w.crash = nil
		if cr.Reason == ReasonKilled && w.proc.ops.overdue.Load() {
			// Ended by a stop past its shutdown time: the stop under way
			// ends the incarnation; it is not a crash to restart.
			w.endReason = ReasonKilled
			return
		}
		w.crashWith(cr)
	}
	// Every call into the isolate ends here: a turn, or a part of one up
	// to an await, has run. Commit its storage writes, then release its
	// output (the output gate, storage.go).
	w.settle()
}

func (w *worker) fail(d *deliver, reason string, err error) {
	cr := w.newCrash(d, err)
	cr.Reason = reason
	w.crashWith(cr)
}

// crashWith ends the incarnation: protoactor recovers the panic and hands
// the crash to the supervisor.
func (w *worker) crashWith(cr *Crash) {
	w.gateAbort(cr.Reason) // nothing of the crashed turn is written or released
	if w.endReason == "" {
		w.endReason = cr.Reason
	}
	panic(cr)
}

func (w *worker) newCrash(d *deliver, err error) *Crash {
	cr := &Crash{Path: w.proc.path, Incarnation: w.inc, Reason: crashReason(err), Err: detach(err), Time: time.Now()}
	var je *isolate.JSError
	if errors.As(err, &je) {
		cr.Stack = je.Stack
	}
	if d != nil && d.env != nil {
		cr.Message = d.env.Data()
		cr.MessageCaps = d.env.Caps()
	}
	return cr
}

// crashReason is the typed reason for an error that ended an incarnation.
func crashReason(err error) string {
	var cr *Crash
	switch {
	case errors.As(err, &cr):
		return cr.Reason
	case errors.Is(err, isolate.ErrCPULimit):
		return "cpu_limit"
	case errors.Is(err, isolate.ErrMemoryLimit):
		return "memory_limit"
	case errors.Is(err, isolate.ErrKilled):
		return ReasonKilled
	}
	return "error"
}

// exit ends the incarnation after ctx.stop: "normal" stops the process,
// any other reason is an abnormal exit that the supervisor handles.
func (w *worker) exit(c proto.Context) {
	if IsNormal(w.stopping) {
		if w.proc.restartType() == Permanent {
			// OTP restarts a permanent child however it ends.
			cr := w.newCrash(nil, fmt.Errorf("stopped with reason %q", w.stopping))
			cr.Reason = w.stopping
			w.stopping = ""
			w.crashWith(cr)
		}
		w.proc.setStatus(StatusStopping)
		c.Stop(c.Self())
		return
	}
	cr := w.newCrash(nil, fmt.Errorf("stopped with reason %q", w.stopping))
	cr.Reason = "exit:" + w.stopping
	w.stopping = ""
	w.crashWith(cr)
}

// stop runs terminate on an orderly stop. A panic in Go code on the way (a
// storage backend's, in the commit after terminate) ends the incarnation
// with that crash, and the stop goes on (see stopStep).
func (w *worker) stop(c proto.Context) {
	w.proc.setStatus(StatusStopping)
	reason := w.stopping
	if reason == "" {
		reason = ReasonShutdown
	}
	w.end(w.proc.stopStep, reason)
}

// restarting ends the incarnation that its supervisor restarts. Restarted
// beside a crashed sibling (one_for_all, rest_for_one), by the operator or
// for new code, it ends in order, so terminate runs. A panic in Go code on
// the way is the incarnation's crash report, and the restart goes on (see
// restartStep).
func (w *worker) restarting() {
	reason := ""
	if w.endReason == "" {
		if h := w.proc.endHint.Load(); h == nil {
			reason = ReasonShutdown
		} else if *h == ReasonCodeChange {
			reason = ReasonCodeChange
		}
	}
	w.end(w.proc.restartStep, reason)
}

// end runs terminate with reason, unless reason is empty, and closes the
// incarnation, each as a step of the stop or restart under way (see
// endSteps).
func (w *worker) end(step endStepFunc, reason string) {
	terminate := func() { w.terminate(reason) }
	if reason == "" {
		terminate = nil
	}
	w.proc.endSteps(step, w.inc, terminate, w.closeParts(), &w.endReason, w.gateAbort)
}

// closeParts are the parts of closing the incarnation, each a step of its
// own (see endSteps): first what it holds is let go of, which calls no
// one else's code, then the parts that call Go code of others (a caller's
// answer, a monitor's notify), which may panic.
func (w *worker) closeParts() []func() {
	return []func(){w.letGo, w.answerCut, w.failDeferredCalls, w.endIncarnation}
}

// terminate runs the script's terminate on an orderly end, within the
// child's shutdown time and its CPU limit. A terminate cut short makes the
// end a kill.
func (w *worker) terminate(reason string) {
	if w.iso == nil || !w.started || w.endReason != "" {
		return
	}
	err := w.iso.TerminateWithin(reason, w.proc.shutdown())
	if err != nil {
		w.proc.node.log.Warn("terminate failed", keyProcess, w.proc.path, keyError, err)
		if errors.Is(err, isolate.ErrCPULimit) || errors.Is(err, isolate.ErrKilled) {
			w.stopping = ReasonKilled
		}
	}
	w.settleLast(err)
}

// letGo drops the isolate and everything scheduled for this incarnation.
func (w *worker) letGo() {
	w.flushBudgets() // terminate, which may log or be refused, has run
	w.initDone()
	w.stopAlarm()
	for id, t := range w.timers {
		t.Stop()
		delete(w.timers, id)
	}
	for id, t := range w.calls {
		t.Stop()
		delete(w.calls, id)
	}
	w.waits.stop()
	w.unwatchHeld()
	if iso := w.iso; iso != nil {
		w.iso = nil
		w.proc.liveIso.CompareAndSwap(iso, nil)
		w.proc.cpuDone.Add(int64(iso.CPUTime()))
		iso.Close()
	}
}

// answerCut answers the call whose turn the end cut short, if any. The
// message that crashed the incarnation is in the crash report; the ones
// behind it stay stashed for the next incarnation.
func (w *worker) answerCut() {
	d := w.current
	w.current = nil
	if d != nil && d.call != nil {
		w.proc.answer(d.call, &reply{incarnation: d.call.incarnation, id: d.call.id,
			err: fmt.Errorf("%w: %s", isolate.ErrCalleeCrashed, w.endOr(ReasonShutdown))})
	}
}

// failDeferredCalls answers the replies the incarnation deferred and did
// not answer (see failDeferred).
func (w *worker) failDeferredCalls() { w.failDeferred(w.endOr(ReasonShutdown)) }

// endIncarnation tells the incarnation's monitors and links that it has
// ended, and why.
func (w *worker) endIncarnation() { w.proc.end(w.inc, w.endOr(ReasonShutdown)) }

// endOr is why the incarnation ends: its crash reason, its ctx.stop
// reason, or def.
func (w *worker) endOr(def string) string {
	if w.endReason == "" {
		if h := w.proc.endHint.Swap(nil); h != nil {
			w.endReason = *h
		}
	}
	if w.endReason != "" {
		return w.endReason
	}
	if w.stopping != "" {
		return w.stopping
	}
	return def
}

// host is the worker seen from its isolate.
type host worker

func (h *host) w() *worker { return (*worker)(h) }

func (h *host) Send(c *capability.Capability, msg *mailbox.Envelope) error {
	if h.gate != nil {
		return h.w().gatedSend(c, msg)
	}
	return h.w().signal(c, "send", &deliver{env: msg, from: h.proc})
}

func (h *host) Call(c *capability.Capability, msg *mailbox.Envelope, timeout time.Duration) (uint64, error) {
	w := h.w()
	w.nextID++
	id := w.nextID
	proc := w.proc
	depth := 1
	if cur := w.current; cur != nil && cur.call != nil {
		depth = cur.call.depth + 1
	}
	if max := w.proc.node.maxCallDepth; depth > max {
		err := fmt.Errorf("%w: this call would be %d deep in a chain of calls; the limit is %d", isolate.ErrCallDepth, depth, max)
		w.report(LimitHit{Path: proc.path, Limit: "call_depth", Err: err})
		return 0, err
	}
	d := &deliver{env: msg, from: proc, call: &callRef{depth: depth, answer: func(r *reply) { proc.tell(r) }, incarnation: w.inc, id: id}}
	if w.gate != nil {
		if err := w.gatedCall(c, d); err != nil {
			return 0, err
		}
	} else if err := w.signal(c, "call", d); err != nil {
		return 0, err
	}
	w.waits.add(proc, w.inc, id, timeout)
	return id, nil
}

func (h *host) SendAfter(c *capability.Capability, msg *mailbox.Envelope, d time.Duration) (uint64, error) {
	if err := c.Check(capability.Send, "sendAfter"); err != nil {
		return 0, err
	}
	return h.schedule(d, func(id uint64) any {
		return &sendLater{incarnation: h.inc, id: id, target: c, env: msg}
	})
}

func (h *host) StartTimer(d time.Duration) (uint64, error) {
	return h.schedule(d, func(id uint64) any { return &timerFire{incarnation: h.inc, id: id} })
}

func (h *host) schedule(d time.Duration, msg func(id uint64) any) (uint64, error) {
	w := h.w()
	if len(w.timers) >= w.proc.node.limitsFor(w.proc.spec.Limits).Timers {
		err := fmt.Errorf("%w: the limit is %d", isolate.ErrTooManyTimers, len(w.timers))
		w.report(LimitHit{Path: w.proc.path, Limit: "timers", Err: err})
		return 0, err
	}
	w.nextID++
	id := w.nextID
	m, proc := msg(id), w.proc
	if w.timers == nil {
		w.timers = make(map[uint64]*time.Timer) // most incarnations set no timer
	}
	w.timers[id] = time.AfterFunc(d, func() { proc.tell(m) })
	return id, nil
}

func (h *host) CancelTimer(ref uint64) bool {
	t, ok := h.timers[ref]
	if ok {
		t.Stop()
		delete(h.timers, ref)
	}
	return ok
}

func (h *host) Stop(reason string) {
	if h.stopping == "" {
		h.stopping = reason
	}
}
