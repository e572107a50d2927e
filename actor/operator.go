package actor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"

	proto "github.com/asynkron/protoactor-go/actor"
)

// ErrNoProcess is returned by the operator methods for an id that names no
// process of the node.
var ErrNoProcess = errors.New("no such process")

// ErrConflict is returned by an operator action that the process's state
// does not allow: stopping a process that is not running, or a second kill
// or restart of an incarnation that already has one pending.
var ErrConflict = errors.New("conflicts with the process's state")

// ErrNoInspect is returned by Inspect for a script that exports no inspect().
var ErrNoInspect = errors.New("the script exports no inspect()")

// operatorState serialises operator actions on one process so that a storm
// of concurrent requests resolves to at most one action per incarnation.
type operatorState struct {
	mu      sync.Mutex
	pending uint64 // incarnation that has a kill or restart on its way
	stopped bool   // stopped by the operator, for good

	// overdue is set when a stop's shutdown time ran out and the running
	// turn was ended: the stop under way ends the incarnation, not a crash.
	overdue atomic.Bool
}

// retired reports whether the operator stopped p for good. A restart that
// raced the stop must not bring it back.
func (p *Process) retired() bool {
	st := &p.ops
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stopped
}

// operable checks that p may take an operator action now and, for kill and
// restart, marks its incarnation as having one pending. st.mu is held by
// the caller.
func (p *Process) operable(st *operatorState, op string) error {
	if st.stopped {
		return fmt.Errorf("%s %q: %w: stopped by the operator", op, p.path, ErrConflict)
	}
	if p.parent == nil {
		return fmt.Errorf("%s the root supervisor: %w: stop the node instead", op, ErrConflict)
	}
	if s := p.Status(); s != StatusRunning {
		return fmt.Errorf("%s %q: %w: it is %s", op, p.path, ErrConflict, s)
	}
	if inc := p.Incarnation(); st.pending == inc {
		return fmt.Errorf("%s %q: %w: a kill or restart of incarnation %d is pending", op, p.path, ErrConflict, inc)
	}
	return nil
}

func (n *Node) operatorTarget(id uint64) (*Process, *proto.PID, error) {
	p, ok := n.Process(id)
	if !ok {
		return nil, nil, fmt.Errorf("process %d: %w", id, ErrNoProcess)
	}
	pid := p.pid.Load()
	if pid == nil {
		return nil, nil, fmt.Errorf("process %q: %w: not spawned", p.path, ErrConflict)
	}
	return p, pid, nil
}

// Stop stops the process with the given id for good, in order: a worker's
// terminate runs, a supervisor stops its children in reverse start order.
// Its supervisor does not restart it. Stop returns once the stop has been
// asked for; the process's status tells when it is done. Safe for
// concurrent use.
func (n *Node) Stop(id uint64) error {
	return n.operate(id, "stop", func(p *Process, pid *proto.PID, st *operatorState) error {
		st.stopped = true
		n.log.Info("operator stop", keyProcess, p.path)
		n.system.Root.Stop(pid)
		return nil
	})
}

// operate runs an operator action on the process with the given id, one
// at a time per process, if the process's state allows it.
func (n *Node) operate(id uint64, op string, act func(*Process, *proto.PID, *operatorState) error) error {
	p, pid, err := n.operatorTarget(id)
	if err != nil {
		return err
	}
	st := &p.ops
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := p.operable(st, op); err != nil {
		return err
	}
	return act(p, pid, st)
}

// Kill ends the current incarnation of the process with the given id with
// the crash reason "killed", untrappably and ahead of its queued messages.
// Its supervisor then restarts it, or not, by its strategy, counting the
// restart towards its intensity. Safe for concurrent use: while a kill or
// restart of an incarnation is pending, another returns ErrConflict.
func (n *Node) Kill(id uint64) error {
	return n.operate(id, "kill", func(p *Process, pid *proto.PID, st *operatorState) error {
		parent := p.parent.pid.Load()
		if parent == nil {
			return fmt.Errorf("kill %q: %w: its supervisor is not spawned", p.path, ErrConflict)
		}
		inc := p.Incarnation()
		st.pending = inc
		n.log.Info("operator kill", keyProcess, p.path, keyIncarnation, inc)
		cr := &Crash{Path: p.path, Incarnation: inc, Reason: ReasonKilled, Err: errors.New("killed by the operator"), Time: time.Now()}
		killed := ReasonKilled
		p.endHint.Store(&killed) // monitors and links see "killed", not a restart's "shutdown"
		// The supervisor decides as it does on a crash, and restarts or
		// stops the child with a system message: it overtakes whatever is
		// queued in the child's mailbox.
		p.parent.tell(&killChild{child: p, crash: cr})
		// The restart reaches the child between two of its turns: a turn
		// running now is ended at once, as its CPU limit would end it.
		p.abortTurn(inc)
		return nil
	})
}

// abortOverdue ends the running turn of a worker whose stop is past its
// shutdown time. Safe for concurrent use.
func (p *Process) abortOverdue() {
	p.ops.overdue.Store(true)
	p.abortTurn(p.Incarnation())
}

// abortTurn ends the turn incarnation inc of p is running, if any, with
// reason killed. Safe for concurrent use.
func (p *Process) abortTurn(inc uint64) {
	iso := p.liveIso.Load()
	if iso == nil || p.Incarnation() != inc || p.liveIso.Load() != iso {
		return
	}
	iso.Abort(isolate.ErrKilled)
}

// Restart ends the current incarnation of the process with the given id and
// starts a fresh one in its place, ahead of its queued messages, which the
// new incarnation receives. It counts as a restart of the process but not
// towards its supervisor's intensity. Safe for concurrent use: while a kill
// or restart of an incarnation is pending, another returns ErrConflict.
func (n *Node) Restart(id uint64) error {
	if err := n.reloadFor(id); err != nil {
		return err
	}
	return n.operate(id, "restart", func(p *Process, pid *proto.PID, st *operatorState) error {
		if p.parent.pid.Load() == nil {
			return fmt.Errorf("restart %q: %w: its supervisor is not spawned", p.path, ErrConflict)
		}
		inc := p.Incarnation()
		st.pending = inc
		n.log.Info("operator restart", keyProcess, p.path, keyIncarnation, inc)
		p.setStatus(StatusRestarting)
		p.parent.tell(&restartChild{child: p})
		return nil
	})
}

// inspectRequest asks a worker, on its own goroutine, for the answer of its
// script's inspect() export.
type inspectRequest struct {
	answer chan<- inspectAnswer
	then   func(*mailbox.Envelope, error) // instead of answer, for a script's cap.inspect()
}

type inspectAnswer struct {
	data []byte
	err  error
}

// Inspect runs the inspect() export of the worker with the given id on the
// worker's own goroutine, between two turns and under its CPU limit, and
// returns the msgpack encoding of its return value. A throw or a CPU-limit
// interrupt in inspect() is returned as the error and does not crash the
// incarnation. Inspect waits behind the messages already queued for the
// process, until ctx ends.
func (n *Node) Inspect(ctx context.Context, id uint64) ([]byte, error) {
	p, pid, err := n.operatorTarget(id)
	if err != nil {
		return nil, err
	}
	if p.kind != KindWorker {
		return nil, fmt.Errorf("inspect %q: %w: a supervisor has no state", p.path, ErrConflict)
	}
	switch p.Status() {
	case StatusStopped, StatusStopping, StatusFailed:
		return nil, fmt.Errorf("inspect %q: %w: it is %s", p.path, ErrConflict, p.Status())
	}
	ch := make(chan inspectAnswer, 1)
	n.system.Root.Send(pid, &inspectRequest{answer: ch})
	select {
	case a := <-ch:
		if a.err != nil {
			return nil, fmt.Errorf("inspect %q: %w", p.path, a.err)
		}
		return a.data, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("inspect %q: %w", p.path, ctx.Err())
	}
}

// operatorMessage handles the operator's messages to a worker; it runs on
// the worker's goroutine.
func (w *worker) operatorMessage(msg any) {
	req, ok := msg.(*inspectRequest)
	if !ok {
		return
	}
	if req.then != nil {
		w.inspectFor(req.then)
		return
	}
	if w.iso == nil {
		req.answer <- inspectAnswer{err: fmt.Errorf("%w: no running incarnation", ErrConflict)}
		return
	}
	env, err := w.runInspect()
	switch {
	case err != nil:
		req.answer <- inspectAnswer{err: err}
	case env == nil:
		req.answer <- inspectAnswer{err: ErrNoInspect}
	default:
		req.answer <- inspectAnswer{data: env.Data()}
	}
}
