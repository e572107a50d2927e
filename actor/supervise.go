package actor

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// Supervision is what a supervisor process decides: the order in which it
// starts and stops its children, what follows a child's end, whether it
// spawns a dynamic child. Package supervisor provides it. The actor
// package runs the process — its identity, its protoactor actor, the
// mechanics of starting, restarting and stopping children — and asks the
// Supervision that the spec's Strategy makes for each incarnation, so the
// state a Supervision keeps (its restart history) lives exactly as long as
// one incarnation. Every method runs on the supervisor's own goroutine, one
// call at a time.
type Supervision interface {
	// Init starts the children. An error ends the start: the supervisor
	// starts no further child (see Supervisor.StartChild).
	Init(s *Supervisor) error
	// ChildEnded decides what follows the end of child's running
	// incarnation, which crash reports: restart it (and which siblings),
	// stop it for good, or fail the supervisor. Ends already decided (a
	// kill that raced a crash of the same incarnation) do not reach it,
	// nor do ends while the supervisor stops or is restarted or the node
	// shuts down: those are reported with action stop and the child is
	// stopped, as OTP's supervisor does in its shutdown.
	ChildEnded(s *Supervisor, child *Process, crash *Crash)
	// Spawn starts a dynamic child from the template with args, or
	// refuses with an error the spawner receives.
	Spawn(s *Supervisor, args *mailbox.Envelope) (*Process, error)
	// Terminate stops the children as the incarnation ends in order.
	Terminate(s *Supervisor)
}

// Supervisor is a supervisor incarnation as its Supervision sees it: the
// process, its children, and what can be done to them. It is valid only
// during the Supervision call it is passed to.
type Supervisor struct {
	g   *group
	c   proto.Context
	key string // names the child StartDynamic makes, for a keyed spawn
}

// Process is the supervisor process.
func (s *Supervisor) Process() *Process { return s.g.proc }

// Children returns the supervised children in start order.
func (s *Supervisor) Children() []*Process { return s.g.proc.Children() }

// errStartAborted tells a supervisor that a child further down could not
// start, so the node's first start is off.
var errStartAborted = errors.New("the start was aborted")

// StartChild starts ch's first incarnation of this supervisor incarnation
// and waits for its init, within its start timeout, as OTP's supervisor
// waits for start_link. It returns an error only when the supervisor must
// start no further child: the node's first start has failed (with this
// child, or elsewhere), or the child's actor could not be made. A child
// whose init fails once the node runs is handled as any crash: ChildEnded
// follows.
func (s *Supervisor) StartChild(ch *Process) error {
	n := s.g.proc.node
	if n.startAborted() {
		return errStartAborted
	}
	ready := ch.expectReady()
	ch.revive()
	pid, err := s.c.SpawnNamed(n.props(ch), ch.name)
	if err != nil {
		return fmt.Errorf("spawn %q: %w", ch.path, err)
	}
	s.g.spawned(ch, pid)
	if ch.counted.CompareAndSwap(false, true) {
		n.markSpawned()
	}
	if err := ch.awaitReady(ready); err != nil && n.starting() {
		// As in OTP, a child that cannot start fails the start.
		if !errors.Is(err, errStartAborted) {
			n.startFailed(fmt.Errorf("%s: %w", ch.path, err))
		}
		return errStartAborted
	}
	return nil
}

// RestartChild ends ch's running incarnation and starts a fresh one in its
// place, ahead of the messages queued for it, which the new incarnation
// receives. With wait, it returns once the new incarnation's init has
// finished or its start timeout has passed.
func (s *Supervisor) RestartChild(ch *Process, wait bool) {
	pid := ch.pid.Load()
	if pid == nil {
		return // never started: nothing to restart
	}
	ch.setStatus(StatusRestarting)
	if !wait {
		s.c.(proto.Supervisor).RestartChildren(pid)
		return
	}
	ready := ch.expectReady()
	s.c.(proto.Supervisor).RestartChildren(pid)
	_ = ch.awaitReady(ready) // a failed start is a crash, and ChildEnded follows
}

// StopChild ends ch for good without waiting: a child not to be restarted.
func (s *Supervisor) StopChild(ch *Process) {
	pid := ch.pid.Load()
	if pid == nil {
		return
	}
	ch.setStatus(StatusStopping)
	s.c.(proto.Supervisor).StopChildren(pid)
}

// StopChildWait stops ch in order and waits for it: a worker's terminate
// runs within its shutdown time, a supervisor stops its own children.
func (s *Supervisor) StopChildWait(ch *Process) {
	pid := ch.pid.Load()
	if pid == nil {
		return
	}
	ch.stopAndWait(func() { s.c.Stop(pid) })
}

// Report records crash as child's latest crash report and publishes it.
// crash.Action says what the supervisor decided.
func (s *Supervisor) Report(child *Process, crash *Crash) {
	child.recordCrash(crash)
	s.g.proc.node.emit(Crashed{Crash: crash})
}

// Fail gives up: the supervisor stops its children and fails with reason,
// escalating cause to its own supervisor, which decides as on a crash. A
// root that fails stops the node.
func (s *Supervisor) Fail(reason string, cause *Crash) {
	p := s.g.proc
	p.setStatus(StatusFailed)
	s.g.failure = reason
	failure := &Crash{Path: p.path, Incarnation: p.Incarnation(), Reason: reason, Err: cause, Time: time.Now()}
	if p.parent == nil {
		failure.Action = ActionStop // the node stops
		p.recordCrash(failure)
		p.node.fail(failure)
		return
	}
	// The parent records the failure with what it decided.
	s.c.(proto.Supervisor).EscalateFailure(failure, nil)
}

// ErrTooManyChildren is a spawn refused by the supervisor's children
// limit. It wraps isolate.ErrTooManyProcesses, which a script sees as a
// RangeError.
var ErrTooManyChildren = fmt.Errorf("%w: too many children", isolate.ErrTooManyProcesses)

// StartDynamic makes a dynamic child from the supervisor's template, with
// args for its init, and starts it as OTP's start_child does: it returns
// once init has run, so a monitor or link set at once applies to it. A
// child whose init fails is stopped and forgotten.
func (s *Supervisor) StartDynamic(args *mailbox.Envelope) (*Process, error) {
	p, n := s.g.proc, s.g.proc.node
	if p.Status() != StatusRunning {
		return nil, fmt.Errorf("%w: spawn: %s is %s", isolate.ErrNoProc, p.path, p.Status())
	}
	p.mu.Lock()
	p.spawnSeq++
	name := strconv.FormatUint(p.spawnSeq, 10)
	p.mu.Unlock()
	if s.key != "" {
		name = s.key
	}
	for s.key == "" && n.taken(joinKey(p.path, name)) {
		// A keyed child holds that name: take the next number.
		p.mu.Lock()
		p.spawnSeq++
		name = strconv.FormatUint(p.spawnSeq, 10)
		p.mu.Unlock()
	}

	spec := *p.spec.Template
	spec.Name = name
	if s := p.newCode.Load(); s != nil {
		spec.Script = s // the template's code, replaced by CodeChange
	}
	ch := &Process{node: n, id: n.nextID.Add(1), name: name, spec: &spec, parent: p, kind: KindWorker,
		dynamic: true, initArgs: args}
	ch.path = name
	if p.path != "" {
		ch.path = p.path + "/" + name
	}
	ch.mb = mailbox.New(ch.path, spec.Mailbox.WithDefaults(n.mailbox))
	for _, gs := range spec.Grants {
		if gs.Target != nil {
			ch.grants = append(ch.grants, isolate.Grant{Name: gs.Name, Cap: capability.New(gs.Target, gs.Rights)})
			continue
		}
		to, ok := n.grantTarget(gs.To, ch.path)
		if !ok {
			return nil, fmt.Errorf("spawn: template grant %q: no process at %q", gs.Name, gs.To)
		}
		ch.grants = append(ch.grants, isolate.Grant{Name: gs.Name, Cap: capability.New(to, gs.Rights)})
	}
	if err := n.register(ch); err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	p.mu.Lock()
	p.children = append(p.children, ch)
	p.mu.Unlock()
	ready := ch.expectReady()
	pid, err := s.c.SpawnNamed(n.props(ch), name)
	if err != nil {
		s.g.remove(ch)
		return nil, fmt.Errorf("spawn %s: %w", ch.path, err)
	}
	s.g.spawned(ch, pid)
	if err := ch.awaitReady(ready); err != nil {
		ch.abandoned = true // its end is not decided: it is stopped
		return nil, fmt.Errorf("spawn %s: init: %w", ch.path, err)
	}
	return ch, nil
}

// MaxChildren is the number of dynamic children a template supervisor may
// have alive at once; 0 for a worker.
func (p *Process) MaxChildren() int {
	if p.kind != KindSupervisor {
		return 0
	}
	if p.spec.MaxChildren > 0 {
		return p.spec.MaxChildren
	}
	return DefaultMaxChildren
}
