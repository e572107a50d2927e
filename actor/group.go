package actor

import (
	"errors"
	"fmt"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
)

// group is a supervisor process: a protoactor actor whose children are the
// slots of its spec. It carries out the mechanics — spawning, restarting
// and stopping children's actors, reporting the node's start — and asks
// the incarnation's Supervision for every decision. protoactor routes a
// child's failure to HandleFailure.
type group struct {
	proc    *Process
	inc     uint64
	failure string // the reason this incarnation failed with, if it did
	ending  bool   // this incarnation is stopping or being restarted
	// sv decides for this incarnation: a new one for every incarnation,
	// so a restarted supervisor starts with a fresh restart history.
	sv Supervision
	// children maps the PIDs of this incarnation's children to their slots.
	// Only the supervisor's goroutine touches it.
	children map[string]*Process
}

// newGroup sizes the children map for the spec's children, so that a
// large tree's start does not grow it step by step; a template's
// children come one spawn at a time.
func newGroup(p *Process) proto.Actor {
	return &group{proc: p, children: make(map[string]*Process, len(p.spec.Children))}
}

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
		clear(g.children)
		p.endHint.Store(nil)
		if g.inc > 1 {
			p.restarts.Add(1)
		}
		p.begin(g.inc)
		g.dropDynamic() // a template supervisor restarts empty, as in OTP
		// A panic in the Supervision fails the start as an error does.
		stack, err := startGuarded("NewSupervision", func() error {
			if g.sv = p.spec.Strategy.NewSupervision(); g.sv == nil {
				return fmt.Errorf("the strategy %s made no Supervision", p.spec.Strategy)
			}
			return nil
		})
		if err == nil {
			stack, err = startGuarded("Init", func() error { return g.sv.Init(&Supervisor{g: g, c: c}) })
		}
		if err != nil {
			if errors.Is(err, errStartAborted) {
				p.signalReady(errStartAborted)
				return
			}
			cr := &Crash{Path: p.path, Incarnation: g.inc, Reason: "error", Err: err, Stack: stack, Time: time.Now()}
			if p.parent == nil {
				// The root, which starts once: no supervisor decides on it,
				// the node's start fails.
				cr.Action = ActionStop
				p.recordCrash(cr)
				p.node.emit(Crashed{Crash: cr})
				p.node.startFailed(fmt.Errorf("the root supervisor: %w", err))
				return
			}
			p.signalReady(err) // its own supervisor waits for it
			panic(cr)
		}
		p.setStatus(StatusRunning)
		p.signalReady(nil)
		if p.parent == nil && p.Incarnation() == 1 {
			p.node.markSpawned() // the root itself
		}
	case *proto.Stopping:
		g.ending = true
		p.setStatus(StatusStopping)
		if g.sv != nil {
			// A Terminate that panics is reported; protoactor stops the
			// children it left (see stopStep).
			if cr := p.stopStep(g.inc, "the Supervision's Terminate", func() { g.sv.Terminate(&Supervisor{g: g, c: c}) }); cr != nil && g.failure == "" {
				g.failure = cr.Reason
			}
		}
	case *proto.Stopped:
		defer p.signalStopped()
		if p.Status() != StatusFailed {
			p.setStatus(StatusStopped)
		}
		reason := g.endReason()
		p.stoppedStep(g.inc, "ending the incarnation", func() { p.end(g.inc, reason) })
	case *proto.Restarting:
		// A panic in a monitor's notify is reported once the others
		// have been told (see Process.end), and the restart goes on.
		g.ending = true
		reason := g.endReason()
		p.restartStep(g.inc, "ending the incarnation", func() { p.end(g.inc, reason) })
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
	c, _ := sup.(proto.Context) // protoactor's context is both
	g.ended(c, crashed, child, cr)
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
	g.ended(c, m.child, pid, m.crash)
}

// ended hands the end of crashed's incarnation (its actor is child) with
// cr to the Supervision, once per incarnation; while the supervisor ends
// or the node shuts down, the end is reported and the child stopped.
func (g *group) ended(c proto.Context, crashed *Process, child *proto.PID, cr *Crash) {
	if cr.Incarnation != 0 {
		if cr.Incarnation < crashed.Incarnation() || cr.Incarnation <= crashed.handledEnd {
			return // an end already handled: a kill that raced a crash of the same incarnation
		}
		crashed.handledEnd = cr.Incarnation
	}
	if crashed.kind == KindSupervisor {
		crashed.setStatus(StatusFailed)
	}
	if g.proc.node.startAborted() || crashed.abandoned || g.sv == nil || g.ending || g.proc.node.closing.Load() {
		// The node is not starting after all, a spawn gave up on the
		// child, or, as OTP's supervisor while it shuts down, this one is
		// ending or the node is shutting down: the child's end is
		// reported and nothing is restarted. The end costs no intensity,
		// and cannot have it, or the root, give up.
		cr.Action, cr.Restarted = ActionStop, false
		crashed.recordCrash(cr)
		g.proc.node.emit(Crashed{Crash: cr})
		c.(proto.Supervisor).StopChildren(child)
		return
	}
	g.sv.ChildEnded(&Supervisor{g: g, c: c}, crashed, cr)
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
