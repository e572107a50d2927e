package actor

import (
	"fmt"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
)

// group is a supervisor process: a protoactor actor whose children are the
// slots of its spec. protoactor routes a child's failure to HandleFailure,
// where the spec's Strategy decides.
type group struct {
	proc *Process
}

func newGroup(p *Process) proto.Actor { return &group{proc: p} }

// Receive implements proto.Actor.
func (g *group) Receive(c proto.Context) {
	p := g.proc
	switch c.Message().(type) {
	case *proto.Started:
		p.incarnation.Add(1)
		for _, ch := range p.children {
			ch := ch
			props := proto.PropsFromProducer(func() proto.Actor { return ch.node.producer(ch) })
			pid, err := c.SpawnNamed(props, ch.name)
			if err != nil {
				panic(&Crash{Path: ch.path, Reason: "error", Err: fmt.Errorf("spawn %q: %w", ch.path, err), Time: time.Now()})
			}
			if ch.pid.Swap(pid) == nil {
				p.node.markSpawned()
			}
		}
		p.setStatus(StatusRunning)
		if p.parent == nil && p.Incarnation() == 1 {
			p.node.markSpawned() // the root itself
		}
	case *proto.Stopping:
		p.setStatus(StatusStopping)
		g.stopChildren(c)
	case *proto.Stopped:
		if p.Status() != StatusFailed {
			p.setStatus(StatusStopped)
		}
	}
}

// stopChildren stops the children one at a time in reverse start order,
// each given its shutdown time.
func (g *group) stopChildren(c proto.Context) {
	for i := len(g.proc.children) - 1; i >= 0; i-- {
		ch := g.proc.children[i]
		pid := ch.pid.Load()
		if pid == nil {
			continue
		}
		_ = c.StopFuture(pid).Wait() // protoactor bounds the wait at 10 s
	}
}

// HandleFailure implements proto.SupervisorStrategy for the group's children.
func (g *group) HandleFailure(_ *proto.ActorSystem, sup proto.Supervisor, child *proto.PID, _ *proto.RestartStatistics, reason any, _ any) {
	p := g.proc
	crashed := p.childByPID(child)
	if crashed == nil {
		sup.StopChildren(child)
		return
	}
	cr, ok := reason.(*Crash)
	if !ok {
		cr = &Crash{Path: crashed.path, Incarnation: crashed.Incarnation(), Reason: "error", Err: fmt.Errorf("go panic: %v", reason), Time: time.Now()}
	}
	if crashed.kind == KindSupervisor {
		crashed.setStatus(StatusFailed)
	}
	d := p.spec.Strategy.OnCrash(p.children, crashed, time.Now())
	cr.Restarted = !d.Escalate
	crashed.recordCrash(cr)
	p.node.emit(Crashed{Crash: cr})
	if d.Escalate {
		p.setStatus(StatusFailed)
		failure := &Crash{Path: p.path, Incarnation: p.Incarnation(), Reason: d.Reason, Err: cr, Time: time.Now()}
		p.recordCrash(failure)
		if p.parent == nil {
			p.node.fail(failure)
			return
		}
		sup.EscalateFailure(failure, nil)
		return
	}
	pids := make([]*proto.PID, 0, len(d.Restart))
	for _, r := range d.Restart {
		if pid := r.pid.Load(); pid != nil {
			r.setStatus(StatusRestarting)
			pids = append(pids, pid)
		}
	}
	sup.RestartChildren(pids...)
}

func (p *Process) childByPID(pid *proto.PID) *Process {
	for _, ch := range p.children {
		if cp := ch.pid.Load(); cp != nil && cp.Equal(pid) {
			return ch
		}
	}
	return nil
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
