package actor

import (
	"errors"
	"fmt"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
)

// group is a supervisor process: a protoactor actor whose children are the
// slots of its spec. protoactor routes a child's failure to HandleFailure,
// where the spec's Strategy decides.
type group struct {
	proc    *Process
	inc     uint64
	failure string // the reason this incarnation failed with, if it did
	// restarter counts this incarnation's restarts: a new one for every
	// incarnation, so a restarted supervisor starts with a fresh window.
	restarter Restarter
	// children maps the PIDs of this incarnation's children to their slots.
	// Only the supervisor's goroutine touches it.
	children map[string]*Process
}

func newGroup(p *Process) proto.Actor { return &group{proc: p, children: make(map[string]*Process)} }

// child returns the slot whose running actor is pid, or nil.
func (g *group) child(pid *proto.PID) *Process {
	ch := g.children[pid.Id]
	if ch == nil {
		return nil
	}
	if cp := ch.pid.Load(); cp == nil || !cp.Equal(pid) {
		return nil
	}
	return ch
}

// spawned records ch's new actor.
func (g *group) spawned(ch *Process, pid *proto.PID) {
	ch.pid.Store(pid)
	g.children[pid.Id] = ch
}

// Receive implements proto.Actor.
func (g *group) Receive(c proto.Context) {
	p := g.proc
	switch m := c.Message().(type) {
	case *spawnReq:
		g.spawn(c, m)
	case *proto.Terminated:
		g.forget(m.Who)
	case *killChild:
		g.kill(c, m)
	case *restartChild:
		if pid := m.child.pid.Load(); pid != nil && g.child(pid) == m.child {
			c.(proto.Supervisor).RestartChildren(pid)
		}
	case *proto.Started:
		p.pid.Store(c.Self()) // before any child can ask for it
		g.inc = p.incarnation.Add(1)
		g.failure = ""
		g.restarter = p.spec.Strategy.NewRestarter()
		clear(g.children)
		p.endHint.Store(nil)
		if g.inc > 1 {
			p.restarts.Add(1)
		}
		p.begin(g.inc)
		g.dropDynamic() // a template supervisor restarts empty, as in OTP
		for _, ch := range p.Children() {
			ch := ch
			if p.node.startAborted() {
				p.signalReady(errStartAborted)
				return
			}
			ready := ch.expectReady()
			ch.revive()
			props := ch.node.props(ch)
			pid, err := c.SpawnNamed(props, ch.name)
			if err != nil {
				err = fmt.Errorf("spawn %q: %w", ch.path, err)
				p.signalReady(err) // its own supervisor waits for it
				panic(&Crash{Path: ch.path, Reason: "error", Err: err, Time: time.Now()})
			}
			g.spawned(ch, pid)
			if ch.counted.CompareAndSwap(false, true) {
				p.node.markSpawned()
			}
			if err := ch.awaitReady(ready); err != nil && p.node.starting() {
				// As in OTP, a child that cannot start fails the start.
				if !errors.Is(err, errStartAborted) {
					p.node.startFailed(fmt.Errorf("%s: %w", ch.path, err))
				}
				p.signalReady(errStartAborted)
				return
			}
		}
		p.setStatus(StatusRunning)
		p.signalReady(nil)
		if p.parent == nil && p.Incarnation() == 1 {
			p.node.markSpawned() // the root itself
		}
	case *proto.Stopping:
		p.setStatus(StatusStopping)
		g.stopChildren(c)
	case *proto.Stopped:
		defer p.signalStopped()
		if p.Status() != StatusFailed {
			p.setStatus(StatusStopped)
		}
		p.end(g.inc, g.endReason())
	case *proto.Restarting:
		p.end(g.inc, g.endReason())
	}
}

// endReason is why this incarnation of the supervisor ends: its own
// failure, an operator's kill, or an orderly shutdown.
func (g *group) endReason() string {
	if g.failure != "" {
		return g.failure
	}
	if h := g.proc.endHint.Swap(nil); h != nil {
		return *h
	}
	return ReasonShutdown
}

// stopChildren stops the children one at a time in reverse start order,
// each given its shutdown time.
func (g *group) stopChildren(c proto.Context) {
	children := g.proc.Children()
	for i := len(children) - 1; i >= 0; i-- {
		ch := children[i]
		pid := ch.pid.Load()
		if pid == nil {
			continue
		}
		ch.stopAndWait(func() { c.Stop(pid) })
	}
}

// HandleFailure implements proto.SupervisorStrategy for the group's children.
func (g *group) HandleFailure(_ *proto.ActorSystem, sup proto.Supervisor, child *proto.PID, _ *proto.RestartStatistics, reason any, _ any) {
	crashed := g.child(child)
	if crashed == nil {
		sup.StopChildren(child)
		return
	}
	cr, ok := reason.(*Crash)
	if !ok {
		cr = &Crash{Path: crashed.path, Incarnation: crashed.Incarnation(), Reason: "error", Err: fmt.Errorf("go panic: %v", reason), Time: time.Now()}
	}
	g.ended(sup, crashed, child, cr)
}

// killChild asks a supervisor to end a child's incarnation as if it had
// crashed with crash: the operator's kill.
type killChild struct {
	child *Process
	crash *Crash
}

// restartChild asks a supervisor to restart a child in place: the
// operator's restart, which costs no intensity.
type restartChild struct{ child *Process }

// kill handles an operator's kill on the supervisor's goroutine: the
// child's end is decided as a crash's would be, and the restart or stop
// reaches the child ahead of its queued messages.
func (g *group) kill(c proto.Context, m *killChild) {
	pid := m.child.pid.Load()
	if pid == nil || g.child(pid) != m.child {
		return
	}
	if m.crash.Incarnation != m.child.Incarnation() {
		return // that incarnation has ended already
	}
	g.ended(c.(proto.Supervisor), m.child, pid, m.crash)
}

// ended decides, by the restart type and the strategy, what follows the
// end of crashed's incarnation (its actor is child) with cr.
func (g *group) ended(sup proto.Supervisor, crashed *Process, child *proto.PID, cr *Crash) {
	p := g.proc
	if cr.Incarnation != 0 {
		if cr.Incarnation < crashed.Incarnation() || cr.Incarnation <= crashed.handledEnd {
			return // an end already handled: a kill that raced a crash of the same incarnation
		}
		crashed.handledEnd = cr.Incarnation
	}
	if crashed.kind == KindSupervisor {
		crashed.setStatus(StatusFailed)
	}
	if p.node.startAborted() || crashed.abandoned {
		sup.StopChildren(child) // the node is not starting after all
		return
	}
	if !crashed.restartType().restarts(cr.Reason) {
		// A temporary child, or a transient one that ended normally, is
		// not restarted and costs no intensity.
		cr.Action = ActionStop
		crashed.recordCrash(cr)
		p.node.emit(Crashed{Crash: cr})
		crashed.setStatus(StatusStopping)
		sup.StopChildren(child)
		return
	}
	d := g.restarter.OnCrash(p.Children(), crashed, time.Now())
	cr.Restarted = !d.Escalate
	cr.Action = ActionRestart
	if d.Escalate {
		cr.Action = ActionEscalate
	}
	crashed.recordCrash(cr)
	p.node.emit(Crashed{Crash: cr})
	if d.Escalate {
		p.setStatus(StatusFailed)
		g.failure = d.Reason
		failure := &Crash{Path: p.path, Incarnation: p.Incarnation(), Reason: d.Reason, Err: cr, Time: time.Now()}
		if p.parent == nil {
			failure.Action = ActionStop // the node stops
			p.recordCrash(failure)
			p.node.fail(failure)
			return
		}
		// The parent records the failure with what it decided.
		sup.EscalateFailure(failure, nil)
		return
	}
	pids := make([]*proto.PID, 0, len(d.Restart))
	var stop []*proto.PID
	for _, r := range d.Restart {
		pid := r.pid.Load()
		switch {
		case pid == nil, r != crashed && (r.Status() == StatusStopped || r.Status() == StatusFailed):
			// Not running: a child that ended for good stays ended.
		case r != crashed && r.restartType() == Temporary:
			// OTP terminates a temporary sibling rather than restart it.
			r.setStatus(StatusStopping)
			stop = append(stop, pid)
		default:
			r.setStatus(StatusRestarting)
			pids = append(pids, pid)
		}
	}
	sup.StopChildren(stop...)
	if len(pids) == 1 {
		sup.RestartChildren(pids...)
		return
	}
	// Several: one at a time in start order, each up before the next, as
	// OTP restarts a group. The supervisor waits, as it does at start.
	for _, r := range d.Restart {
		pid := r.pid.Load()
		if pid == nil || r.Status() != StatusRestarting {
			continue
		}
		ready := r.expectReady()
		sup.RestartChildren(pid)
		_ = r.awaitReady(ready)
	}
}

// DefaultShutdown is the time a worker gets to stop when its spec sets none.
const DefaultShutdown = 5 * time.Second

func (p *Process) shutdown() time.Duration {
	if p.spec.Shutdown > 0 {
		return p.spec.Shutdown
	}
	if p.kind == KindSupervisor {
		return time.Hour // a supervisor waits for its own children's timeouts
	}
	return DefaultShutdown
}
