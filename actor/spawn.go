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

// ErrTooManyChildren is a spawn refused by the supervisor's children limit.
var ErrTooManyChildren = errors.New("too many children")

// spawnReq asks a template supervisor for a new child; the answer goes to
// the spawner's incarnation as the reply to call id.
type spawnReq struct {
	args *mailbox.Envelope
	from *Process
	inc  uint64
	id   uint64
	then func(*reply) // instead of a reply to from, for a Go actor's spawn
}

// spawnTimeout bounds how long a spawn's promise waits for its supervisor.
const spawnTimeout = 5 * time.Second

// Spawn implements isolate.Signaller: it asks the template supervisor that
// c designates for a new child.
func (h *host) Spawn(c *capability.Capability, args *mailbox.Envelope) (uint64, error) {
	t, err := h.proc.node.target(c, capability.Spawn, "spawn")
	if err != nil {
		return 0, err
	}
	if t.kind != KindSupervisor || t.spec.Template == nil {
		return 0, fmt.Errorf("spawn: %s has no template", t.path)
	}
	w := h.w()
	w.nextID++
	id, inc, proc := w.nextID, w.inc, w.proc
	t.tell(&spawnReq{args: args, from: proc, inc: inc, id: id})
	w.calls[id] = time.AfterFunc(spawnTimeout, func() {
		proc.tell(&reply{incarnation: inc, id: id, err: fmt.Errorf("%w: spawn after %v", isolate.ErrCallTimeout, spawnTimeout)})
	})
	return id, nil
}

// spawn starts a child from the template and answers the spawner with a
// capability to it: every right but spawn.
func (g *group) spawn(c proto.Context, m *spawnReq) {
	p := g.proc
	answer := func(env *mailbox.Envelope, err error) {
		if m.then != nil {
			m.then(&reply{env: env, err: err})
			return
		}
		m.from.tell(&reply{incarnation: m.inc, id: m.id, env: env, err: err})
	}
	if p.Status() != StatusRunning {
		answer(nil, fmt.Errorf("%w: spawn: %s is %s", isolate.ErrNoProc, p.path, p.Status()))
		return
	}
	max := p.spec.MaxChildren
	if max <= 0 {
		max = DefaultMaxChildren
	}
	p.mu.Lock()
	if len(p.children) >= max {
		p.mu.Unlock()
		err := fmt.Errorf("spawn: %w: %w: %s has %d, its limit", isolate.ErrTooManyProcesses, ErrTooManyChildren, p.path, max)
		p.node.emit(LimitHit{Path: p.path, Limit: "children", Err: err})
		answer(nil, err)
		return
	}
	p.spawnSeq++
	name := strconv.FormatUint(p.spawnSeq, 10)
	p.mu.Unlock()

	spec := *p.spec.Template
	spec.Name = name
	n := p.node
	ch := &Process{node: n, id: n.nextID.Add(1), name: name, spec: spec, parent: p, kind: KindWorker,
		dynamic: true, initArgs: m.args, mbox: spec.Mailbox.WithDefaults(n.mailbox)}
	ch.path = name
	if p.path != "" {
		ch.path = p.path + "/" + name
	}
	for _, gs := range spec.Grants {
		to, ok := n.Lookup(gs.To)
		if !ok || gs.To == "" {
			answer(nil, fmt.Errorf("spawn: template grant %q: no process at %q", gs.Name, gs.To))
			return
		}
		ch.grants = append(ch.grants, isolate.Grant{Name: gs.Name, Cap: capability.New(to, gs.Rights)})
	}
	if err := n.register(ch); err != nil {
		answer(nil, fmt.Errorf("spawn: %w", err))
		return
	}
	p.mu.Lock()
	p.children = append(p.children, ch)
	p.mu.Unlock()
	ready := ch.expectReady()
	pid, err := c.SpawnNamed(n.props(ch), name)
	if err != nil {
		g.remove(ch)
		answer(nil, fmt.Errorf("spawn %s: %w", ch.path, err))
		return
	}
	ch.pid.Store(pid)
	// As OTP's start_child, answer once init has run: the new child is
	// live, so a monitor or link set at once applies to it.
	if err := ch.awaitReady(ready); err != nil {
		ch.abandoned = true // HandleFailure stops it rather than restart it
		answer(nil, fmt.Errorf("spawn %s: init: %w", ch.path, err))
		return
	}
	answer(isolate.CapabilityEnvelope(capability.New(ch, capability.All&^capability.Spawn)), nil)
}

// forget drops a dynamic child that has stopped for good: a capability to
// it now finds no process.
func (g *group) forget(pid *proto.PID) {
	if ch := g.proc.childByPID(pid); ch != nil && ch.dynamic {
		g.remove(ch)
	}
}

func (g *group) remove(ch *Process) {
	p := g.proc
	p.mu.Lock()
	for i, c := range p.children {
		if c == ch {
			p.children = append(p.children[:i:i], p.children[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	if ch.Status() != StatusFailed {
		ch.setStatus(StatusStopped)
	}
	p.node.unregister(ch)
}

// dropDynamic forgets every dynamic child: protoactor has stopped them with
// the supervisor's previous incarnation.
func (g *group) dropDynamic() {
	if g.proc.spec.Template == nil {
		return
	}
	for _, ch := range g.proc.Children() {
		g.remove(ch)
	}
}
