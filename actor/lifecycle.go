package actor

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
	"weak"
)

// Ordered start and stop: a supervisor starts each child once the one
// before it has run init, and stops each, in reverse, within its shutdown
// time.

// DefaultStartTimeout is the time a worker's init gets when its spec sets
// no StartTimeout.
const DefaultStartTimeout = 5 * time.Second

// ErrStartTimeout is a start that failed because init did not finish
// within the child's start timeout; the incarnation is killed.
var ErrStartTimeout = errors.New("start timeout")

// readyWait is one wait for an incarnation's init: the channel it reports
// on. Each wait is a new value, so a kill meant for the incarnation that
// was waited for cannot reach a later one.
type readyWait struct{ ch chan error }

// readyRef is how a worker knows the wait for its init: weakly (armStart).
type readyRef = weak.Pointer[readyWait]

// startTimeout is the time a worker's init gets. A supervisor has no
// bound of its own: it is up once each of its children is, each within its
// own start timeout.
func (s *ChildSpec) startTimeout() time.Duration {
	if s.StartTimeout > 0 {
		return s.StartTimeout
	}
	return DefaultStartTimeout
}

// expectReady arms the wait on which the next incarnation reports that
// its init has finished.
func (p *Process) expectReady() *readyWait {
	w := &readyWait{ch: make(chan error, 1)}
	p.ready.Store(w)
	return w
}

// signalReady reports the end of init: nil, or the error that ended it.
func (p *Process) signalReady(err error) {
	if w := p.ready.Swap(nil); w != nil {
		w.ch <- err
	}
}

// awaitReady waits for init as OTP's supervisor waits for start_link: the
// next child starts once this one is up. A worker whose init has not
// finished within its start timeout has failed to start: the error says
// so, and the incarnation that was waited for is killed.
func (p *Process) awaitReady(w *readyWait) error {
	if p.kind == KindSupervisor {
		return <-w.ch
	}
	d := p.spec.startTimeout()
	t := p.parent.startTimer(d)
	defer t.Stop()
	// A script's init that awaits is cut short by a shutdown; a Go
	// actor's Init is never interrupted, so its wait runs to the end of
	// Init and the child is then stopped in order (terminate runs).
	closed := p.node.closed
	if p.spec.Go != "" {
		closed = nil
	}
	var err error
	select {
	case err = <-w.ch:
		return err
	case <-t.C:
		err = fmt.Errorf("%w: init did not finish within %v", ErrStartTimeout, d)
	case <-closed:
		err = errInitCutShort
	}
	if !p.ready.CompareAndSwap(w, nil) {
		return <-w.ch // init ended as the wait did
	}
	p.tell(&initTimeout{wait: w, err: err})
	return err
}

// errInitCutShort ends an init that a shutdown overtook while it waited
// (an async init's await): the node does not wait out its start timeout.
// An init still running its turn finishes the turn first.
var errInitCutShort = fmt.Errorf("init cut short: %w", errShutdownInStart)

// startTimer returns the supervisor's start timer set to fire after d.
// A supervisor starts one child at a time, on its own goroutine, so one
// timer serves every start; a stopped timer is reset, never drained (Go
// 1.23 timers deliver nothing stale after Stop).
func (p *Process) startTimer(d time.Duration) *time.Timer {
	if p == nil {
		return time.NewTimer(d)
	}
	if p.startT == nil {
		p.startT = time.NewTimer(d)
	} else {
		p.startT.Reset(d)
	}
	return p.startT
}

// initTimeout ends an incarnation whose init ran past its start timeout:
// the one a supervisor waited for (wait), or, when nobody waited, the one
// numbered inc, if its init is still running.
type initTimeout struct {
	wait *readyWait
	inc  uint64
	err  error
}

// armStart arms the worker's own start timeout for incarnations that no
// supervisor waits for (a lone restart): an init that never finishes
// would otherwise hold the process's mailbox forever.
//
// The worker knows the supervisor's wait only weakly: a wait that was
// answered is dropped with its channel, and one the supervisor gave up on
// is kept alive by its initTimeout message until the worker has it.
func (w *worker) armStart() {
	ready := w.proc.ready.Load()
	w.readyFor = weak.Make(ready)
	w.initPending = true
	if ready != nil {
		return // the supervisor's wait has the timer
	}
	d, inc, proc := w.proc.spec.startTimeout(), w.inc, w.proc
	w.initTimer = time.AfterFunc(d, func() {
		proc.tell(&initTimeout{inc: inc, err: fmt.Errorf("%w: init did not finish within %v", ErrStartTimeout, d)})
	})
}

// initDone records that init has finished, for better or worse.
func (w *worker) initDone() {
	w.initPending = false
	if w.initTimer != nil {
		w.initTimer.Stop()
		w.initTimer = nil
	}
}

// onInitTimeout kills the incarnation that m is for: the supervisor has
// given up on its start, or its init is still running past its time.
func (w *worker) onInitTimeout(m *initTimeout) {
	switch {
	case m.wait != nil && m.wait == w.readyFor.Value() && w.iso != nil:
	case m.wait == nil && m.inc == w.inc && w.initPending:
	default:
		return // for another incarnation, or init finished in time
	}
	w.initDone()
	w.proc.signalReady(m.err)
	w.die(ReasonKilled, m.err)
}

// starting reports whether the node's first start is still under way.
func (n *Node) starting() bool {
	select {
	case <-n.spawned:
		return false
	default:
		return true
	}
}

func (n *Node) startAborted() bool {
	select {
	case <-n.startBroken:
		return true
	default:
		return false
	}
}

// errShutdownInStart is why a start that a shutdown overtook failed.
var errShutdownInStart = errors.New("the node is shutting down")

func (n *Node) startFailed(err error) {
	n.startOnceErr.Do(func() {
		n.startErr = err
		close(n.startBroken)
	})
}

// stopGrace is how long past its shutdown time a supervisor waits for a
// worker's stop before it goes on without it. terminate itself is cut at
// the shutdown time, so only a wedged runtime needs it.
const stopGrace = 5 * time.Second

// stopAndWait stops p and waits for it, in place of protoactor's
// StopFuture, whose wait is fixed at 10 s: a worker gets its shutdown time,
// a supervisor the time its own children take.
func (p *Process) stopAndWait(stop func()) {
	done := make(chan struct{})
	p.stopWait.Store(&done)
	pid := p.pid.Load()
	if pid == nil {
		return
	}
	if _, alive := p.node.system.ProcessRegistry.GetLocal(pid.Id); !alive || p.stoppedPID.Load() == pid {
		// Already gone (its actor left the registry), or stopped and not
		// yet out of the registry: a root that gave up stops itself while
		// the node's shutdown, which its failure started, comes here, and
		// its Stopped may have run before stopWait was set.
		p.stopWait.Store(nil)
		return
	}
	stop()
	t := time.NewTimer(p.shutdown())
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	// Past its shutdown time: a turn still running is ended, as OTP kills
	// a child that did not stop in time.
	if p.kind == KindWorker {
		p.abortOverdue()
	}
	t.Reset(stopGrace)
	select {
	case <-done:
	case <-t.C:
		p.stopWait.Store(nil)
		p.node.log.Error("process did not stop in time; going on without it", keyProcess, p.path)
	}
}

// errStoppedBeforeStart answers the wait for a start that never came: the
// process's actor stopped first (a stop that overtook a restart).
var errStoppedBeforeStart = errors.New("stopped before its start finished")

// signalStopped reports that p's actor has stopped: to a stop waiting for
// it, and to a wait for a start it will not make now. The wait is
// answered at once, not left to a start timeout, or to no timeout at all
// for a supervisor, whose parent would wait for it for good.
func (p *Process) signalStopped() {
	p.signalReady(errStoppedBeforeStart)
	p.stoppedPID.Store(p.pid.Load())
	if ch := p.stopWait.Swap(nil); ch != nil {
		close(*ch)
	}
}

// stopStep runs step, a part of an actor's orderly stop named what, and
// returns the crash it panicked with, or nil. The stop runs inside
// protoactor's, which a panic would cut short: the actor would never
// finish stopping (never leave the registry, run its Stopped or tell its
// supervisor it has ended), so its supervisor, and the node's shutdown
// above it, would wait for it for good, while the failure escalated in
// its place had the supervisor restart it mid-stop or give up. A process
// being stopped is ending anyway: the crash is reported and the stop goes
// on, as OTP's supervisor reports a child that crashed in terminate and
// carries on.
func (p *Process) stopStep(inc uint64, what string, step func()) *Crash {
	return p.endStep(inc, ActionStop, what, "while stopping", step)
}

// restartStep runs step, a part of ending an incarnation that its
// supervisor restarts, named what, and returns the crash it panicked
// with, or nil. A panic would cut protoactor's restart short as it would
// a stop: the process would stay down, its new incarnation never started,
// and the failure escalated in its place would reach a supervisor that
// has already decided on this incarnation. The restart was decided: the
// crash is reported as the old incarnation's, and the restart goes on at
// no cost to the supervisor's intensity, as OTP's supervisor restarts a
// child that crashed while it was being shut down for a restart.
func (p *Process) restartStep(inc uint64, what string, step func()) *Crash {
	return p.endStep(inc, ActionRestart, what, "while restarting", step)
}

// stoppedStep runs step, a part of an actor's Stopped handling named what,
// and returns the crash it panicked with, or nil. protoactor runs Stopped
// before it tells the actor's watchers and its parent that it has ended;
// a panic there would leave the parent waiting for it for good.
func (p *Process) stoppedStep(inc uint64, what string, step func()) *Crash {
	return p.endStep(inc, ActionStop, what, "after it stopped", step)
}

// endStepFunc is stopStep, restartStep or stoppedStep.
type endStepFunc func(inc uint64, what string, step func()) *Crash

// endSteps ends incarnation inc of p as a stop or a restart does, each
// part a step (see endStep): terminate, if not nil, then each part of
// closing the incarnation, in order, the last of which ends it (tells its
// monitors and links). A step that panics is reported and the steps after
// it still run, so that a bug in Go code one part calls (a caller's
// answer, a monitor's notify) does not leave what the other parts let go
// of (the isolate, timers, the callers of deferred replies) behind. The
// first failed step's crash reason becomes *endReason if that is empty,
// so the parts after it end the incarnation with it; a failed terminate's
// also goes to aborted, if not nil (a worker's output gate: nothing of
// the failed terminate is written or released).
func (p *Process) endSteps(step endStepFunc, inc uint64, terminate func(), close []func(), endReason *string, aborted func(reason string)) {
	if terminate != nil {
		if cr := step(inc, "terminate", terminate); cr != nil {
			if *endReason == "" {
				*endReason = cr.Reason
			}
			if aborted != nil {
				aborted(cr.Reason)
			}
		}
	}
	for _, part := range close {
		if cr := step(inc, "closing the incarnation", part); cr != nil && *endReason == "" {
			*endReason = cr.Reason
		}
	}
}

// startGuarded runs start, a part of a supervisor's start named what that
// calls its Supervision, and returns its error, or the panic's stack and
// an error that names the panic. A panic would end the start without
// answering the parent's wait for it, which has no time limit.
func startGuarded(what string, start func() error) (stack string, err error) {
	if sp := guarded(func() { err = start() }); sp != nil {
		if e, ok := sp.v.(error); ok {
			err = fmt.Errorf("panic in %s: %w", what, e)
		} else {
			err = fmt.Errorf("panic in %s: %v", what, sp.v)
		}
		return sp.stack, detach(err)
	}
	return "", err
}

// guarded runs f and returns the panic it made, if any, with its stack,
// for a caller that has more to do before it raises it (see stepPanic).
func guarded(f func()) (sp *stepPanic) {
	defer func() {
		if v := recover(); v != nil {
			sp = &stepPanic{v: v, stack: truncate(string(debug.Stack()), maxGoStack)}
		}
	}()
	f()
	return nil
}

// endStep runs step, part of the end of incarnation inc named what, and
// turns a panic in it into a crash report with action, which it records,
// publishes and returns. when says which end it is part of; the two are
// joined only for a report, so a step that does not panic costs no
// allocation for its name.
func (p *Process) endStep(inc uint64, action, what, when string, step func()) (cr *Crash) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		stack := ""
		if sp, ok := v.(*stepPanic); ok {
			v, stack = sp.v, sp.stack
		}
		if c, ok := v.(*Crash); ok {
			cr = c
		} else {
			if stack == "" {
				stack = truncate(string(debug.Stack()), maxGoStack)
			}
			err, ok := v.(error)
			if ok {
				err = fmt.Errorf("panic in %s %s: %w", what, when, err)
			} else {
				err = fmt.Errorf("panic in %s %s: %v", what, when, v)
			}
			cr = &Crash{Path: p.path, Incarnation: inc, Reason: "error", Err: detach(err),
				Stack: stack, Time: time.Now()}
		}
		cr.Action = action
		cr.Restarted = action == ActionRestart
		p.recordCrash(cr)
		p.node.emit(Crashed{Crash: cr})
	}()
	step()
	return nil
}
