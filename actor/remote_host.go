package actor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// The JS host API and the Go actors' Context on a capability of another
// node's process: the same operations, with the same bookkeeping (timers,
// bounds, noproc notifications) as on one node, carried by remote.go.

// check is the node's rights check for an operation on c's target.
func (n *Node) check(c *capability.Capability, need capability.Rights, op string) error {
	if err := c.Check(need, op); err != nil {
		n.emit(Denied{Op: op, Err: err})
		return err
	}
	return nil
}

func (h *host) monitorRemote(rp *remoteProcess, c *capability.Capability) (uint64, error) {
	n := h.proc.node
	if err := n.check(c, capability.Monitor, "monitor"); err != nil {
		return 0, err
	}
	proc, inc := h.proc, h.inc
	ref := n.nextRef.Add(1)
	now, err := n.remote.monitor(rp, c, proc.path, ref, proc, inc, func(reason string) {
		proc.tell(&downNote{inc: inc, ref: ref, reason: reason})
	})
	if err != nil {
		return 0, err
	}
	if now != "" {
		if err := h.queueOwnNote("monitor"); err != nil {
			return 0, err
		}
		proc.tell(&downNote{inc: inc, ref: ref, reason: now, counted: true})
	}
	return ref, nil
}

func (h *host) linkRemote(rp *remoteProcess, c *capability.Capability) error {
	n := h.proc.node
	if err := n.check(c, capability.Link, "link"); err != nil {
		return err
	}
	now, err := n.remote.link(rp, c, h.proc, h.inc)
	if err != nil {
		return err
	}
	if now != "" {
		if err := h.queueOwnNote("link"); err != nil {
			return err
		}
		h.proc.tell(&exitSignal{inc: h.inc, from: rp.describe(), reason: now, linked: true, counted: true})
	}
	return nil
}

func (h *host) inspectRemote(rp *remoteProcess, c *capability.Capability) (uint64, error) {
	n := h.proc.node
	if err := n.check(c, capability.Inspect, "inspect"); err != nil {
		return 0, err
	}
	w := h.w()
	if len(w.inspects) >= maxInspects {
		err := fmt.Errorf("%w: %d inspect requests are awaiting an answer", isolate.ErrMailboxFull, maxInspects)
		n.emit(LimitHit{Path: h.proc.path, Limit: "inspects", Err: err})
		return 0, err
	}
	w.nextID++
	id, inc, proc := w.nextID, w.inc, w.proc
	answer := func(env *mailbox.Envelope, err error) {
		if err == nil && env != nil && len(env.Caps()) > 0 {
			env, err = nil, ErrInspectCapability
		}
		proc.tell(&reply{incarnation: inc, id: id, env: env, err: err})
	}
	if err := n.remote.inspect(rp, c, proc.path, answer); err != nil {
		return 0, err
	}
	if w.inspects == nil {
		w.inspects = make(map[uint64]struct{})
	}
	w.inspects[id] = struct{}{}
	w.awaitCall(id, time.AfterFunc(isolate.DefaultCallTimeout, func() {
		proc.tell(&reply{incarnation: inc, id: id, err: fmt.Errorf("%w: inspect after %v", isolate.ErrCallTimeout, isolate.DefaultCallTimeout)})
	}))
	return id, nil
}

func (h *host) spawnRemote(rp *remoteProcess, c *capability.Capability, args *mailbox.Envelope, link bool) (uint64, error) {
	n := h.proc.node
	if err := n.check(c, capability.Spawn, "spawn"); err != nil {
		return 0, err
	}
	w := h.w()
	w.nextID++
	id, inc, proc := w.nextID, w.inc, w.proc
	done := func(env *mailbox.Envelope, err error) {
		proc.tell(&reply{incarnation: inc, id: id, env: env, err: err})
	}
	var err error
	if link {
		err = n.remote.spawnLinked(rp, c, proc, inc, args, done)
	} else {
		err = n.remote.spawn(rp, c, proc.path, args, done)
	}
	if err != nil {
		return 0, err
	}
	wait := n.remote.spawnWait(rp)
	w.awaitCall(id, time.AfterFunc(wait, func() {
		proc.tell(&reply{incarnation: inc, id: id, err: fmt.Errorf("%w: spawn after %v", isolate.ErrCallTimeout, wait)})
	}))
	return id, nil
}

func (c *Context) monitorRemote(rp *remoteProcess, to *capability.Capability) (Ref, error) {
	g := c.g
	n := g.proc.node
	proc, inc := g.proc, g.inc
	ref := n.nextRef.Add(1)
	now, err := n.remote.monitor(rp, to, proc.path, ref, proc, inc, func(reason string) {
		proc.tell(&downNote{inc: inc, ref: ref, reason: reason})
	})
	if err != nil {
		return 0, err
	}
	if now != "" {
		proc.tell(&downNote{inc: inc, ref: ref, reason: now})
	}
	g.refs[Ref(ref)] = struct{}{}
	return Ref(ref), nil
}

func (c *Context) linkRemote(rp *remoteProcess, to *capability.Capability) error {
	g := c.g
	now, err := g.proc.node.remote.link(rp, to, g.proc, g.inc)
	if err != nil {
		return err
	}
	if now != "" {
		g.proc.tell(&exitSignal{inc: g.inc, from: rp.describe(), reason: now, linked: true})
	}
	return nil
}

func (c *Context) spawnRemote(ctx context.Context, rp *remoteProcess, sup *capability.Capability, args any) (*capability.Capability, error) {
	g := c.g
	r := g.proc.node.remote
	var env *mailbox.Envelope
	if args != nil {
		var err error
		if env, err = g.encode(args); err != nil {
			return nil, err
		}
	}
	ch := make(chan *reply, 1)
	err := r.spawn(rp, sup, g.proc.path, env, func(env *mailbox.Envelope, err error) { ch <- &reply{env: env, err: err} })
	if err != nil {
		return nil, err
	}
	rep, err := await(ctx, ch, r.spawnWait(rp), "spawn")
	if err != nil {
		return nil, err
	}
	if rep.err != nil {
		return nil, rep.err
	}
	if rep.env == nil || len(rep.env.Caps()) != 1 {
		return nil, errors.New("spawn: no capability in the answer")
	}
	return rep.env.Caps()[0], nil
}
