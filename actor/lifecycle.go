package actor

import (
	"errors"
	"time"
)

// Ordered start and stop: a supervisor starts each child once the one
// before it has run init, and stops each, in reverse, within its shutdown
// time.

// errStartAborted tells a supervisor that a child further down could not
// start, so the node's first start is off.
var errStartAborted = errors.New("the start was aborted")

// startWait bounds how long a supervisor waits for a child's init before
// it starts the next child anyway.
const startWait = 5 * time.Second

// expectReady arms the channel on which the next incarnation reports that
// its init has finished.
func (p *Process) expectReady() chan error {
	ch := make(chan error, 1)
	p.ready.Store(&ch)
	return ch
}

// signalReady reports the end of init: nil, or the error that ended it.
func (p *Process) signalReady(err error) {
	if ch := p.ready.Swap(nil); ch != nil {
		*ch <- err
	}
}

// awaitReady waits for init as OTP's supervisor waits for start_link: the
// next child starts once this one is up.
func (p *Process) awaitReady(ready chan error) error {
	t := time.NewTimer(startWait)
	defer t.Stop()
	select {
	case err := <-ready:
		return err
	case <-t.C:
		p.ready.Store(nil)
		return nil
	}
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
	if _, alive := p.node.system.ProcessRegistry.GetLocal(pid.Id); !alive {
		p.stopWait.Store(nil)
		return // already gone (or going): its actor left the registry
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

func (p *Process) signalStopped() {
	if ch := p.stopWait.Swap(nil); ch != nil {
		close(*ch)
	}
}
