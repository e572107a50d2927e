package actor

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// spawnReq asks a template supervisor for a new child; the answer goes to
// the spawner's incarnation as the reply to call id.
type spawnReq struct {
	args *mailbox.Envelope
	from *Process
	inc  uint64
	id   uint64
	then func(*reply) // instead of a reply to from, for a Go actor's spawn
	key  string       // a keyed spawn: the child's name, see SpawnKeyed
	link bool         // link the child with from's incarnation inc; see linkSpawned
	// rlink, for a spawn with link asked by another node: the link with
	// the spawner there, made before the answer (remote_serve.go).
	rlink *remoteLink
}

// spawnTimeout bounds how long a spawn's promise waits for its supervisor:
// at least the template's start timeout, and a margin for the supervisor.
func spawnTimeout(template *ChildSpec) time.Duration {
	const least, margin = 5 * time.Second, time.Second
	return max(least, template.startTimeout()+margin)
}

// Spawn implements isolate.Signaller: it asks the template supervisor that
// c designates for a new child.
func (h *host) Spawn(c *capability.Capability, args *mailbox.Envelope) (uint64, error) {
	return h.spawn(c, args, false)
}

func (h *host) spawn(c *capability.Capability, args *mailbox.Envelope, link bool) (uint64, error) {
	if rp := remoteOf(c); rp != nil {
		return h.spawnRemote(rp, c, args, link)
	}
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
	t.tell(&spawnReq{args: args, from: proc, inc: inc, id: id, link: link})
	wait := spawnTimeout(t.spec.Template)
	w.awaitCall(id, time.AfterFunc(wait, func() {
		proc.tell(&reply{incarnation: inc, id: id, err: fmt.Errorf("%w: spawn after %v", isolate.ErrCallTimeout, wait)})
	}))
	return id, nil
}

// spawn asks the Supervision for a child from the template and answers
// the spawner with a capability to it: every right but spawn.
func (g *group) spawn(c proto.Context, m *spawnReq) {
	p := g.proc
	answer := func(env *mailbox.Envelope, err error) {
		if m.then != nil {
			m.then(&reply{env: env, err: err})
			return
		}
		m.from.tell(&reply{incarnation: m.inc, id: m.id, env: env, err: err})
	}
	if g.sv == nil || p.Status() != StatusRunning {
		answer(nil, fmt.Errorf("%w: spawn: %s is %s", isolate.ErrNoProc, p.path, p.Status()))
		return
	}
	if m.key != "" {
		if ch := g.keyed(m.key); ch != nil {
			answer(isolate.CapabilityEnvelope(capability.New(ch, capability.All&^capability.Spawn)), nil)
			return
		}
	}
	ch, err := g.sv.Spawn(&Supervisor{g: g, c: c, key: m.key}, m.args)
	if errors.Is(err, ErrTooManyChildren) {
		p.node.emit(LimitHit{Path: p.path, Limit: "children", Err: err})
	}
	if err != nil {
		answer(nil, err)
		return
	}
	if (m.link && !g.linkSpawned(c, m.from, m.inc, ch)) || (m.rlink != nil && !g.linkRemote(c, m.rlink, ch)) {
		answer(nil, fmt.Errorf("%w: spawn: the spawner's incarnation has ended", isolate.ErrNoProc))
		return
	}
	answer(isolate.CapabilityEnvelope(capability.New(ch, capability.All&^capability.Spawn)), nil)
}

// forget drops a dynamic child that has stopped for good: a capability to
// it now finds no process.
func (g *group) forget(pid *proto.PID) {
	if ch := g.child(pid); ch != nil && ch.dynamic {
		g.remove(ch)
	}
}

func (g *group) remove(ch *Process) {
	p := g.proc
	if pid := ch.pid.Load(); pid != nil && g.children[pid.Id] == ch {
		delete(g.children, pid.Id)
	}
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
	closeSockets(ch)
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
