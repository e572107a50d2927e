package actor

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/cloister-rt/cloister/isolate"
)

// ReasonCodeChange is how an incarnation ends when its slot is restarted to
// run new code: an orderly end (terminate runs with it, links do not carry
// it, monitors see it), and the queued messages wait for the next
// incarnation, which runs the new code.
const ReasonCodeChange = "code_change"

// code is the script the slot's next incarnation runs: the spec's, or the
// one that replaced it.
func (p *Process) code() *isolate.Script {
	if s := p.newCode.Load(); s != nil {
		return s
	}
	return p.spec.Script
}

// templateCode is the script of a template supervisor's next dynamic child.
func (p *Process) templateCode() *isolate.Script {
	if s := p.newCode.Load(); s != nil {
		return s
	}
	if p.spec.Template == nil {
		return nil
	}
	return p.spec.Template.Script
}

// CodeChange makes s the code of every worker slot whose script was
// compiled from path, and of every template that names it, and restarts
// each such worker that is running, through its supervisor, with reason
// code_change: terminate("code_change") runs, the next incarnation runs s,
// and the messages queued for the slot wait for it. A worker that is
// between incarnations, or stopped, runs s when it starts next. It returns
// the paths of the processes it restarted, in process order, once their
// restarts are asked for: a restart goes through the supervisor, so a
// message that reaches a worker before it may still run on the old code
// (the messages queued behind a running turn run on the new one). Safe for
// concurrent use.
func (n *Node) CodeChange(path string, s *isolate.Script) ([]string, error) {
	if s == nil {
		return nil, fmt.Errorf("code change %q: no script", path)
	}
	n.regMu.RLock()
	var procs []*Process
	for _, p := range n.byID {
		switch {
		case p.kind == KindWorker && p.spec.Go == "":
			if c := p.code(); c != nil && c.Path() == path {
				procs = append(procs, p)
			}
		case p.kind == KindSupervisor && p.spec.Template != nil:
			if c := p.templateCode(); c != nil && c.Path() == path {
				procs = append(procs, p)
			}
		}
	}
	n.regMu.RUnlock()
	slices.SortFunc(procs, func(a, b *Process) int { return cmp.Compare(a.id, b.id) })
	var restarted []string
	for _, p := range procs {
		p.newCode.Store(s)
		if p.kind == KindWorker && n.restartForCode(p) {
			restarted = append(restarted, p.path)
		}
	}
	n.log.Info("code change", "script", path, "restarted", len(restarted))
	return restarted, nil
}

// restartForCode restarts p in place with reason code_change if it is
// running and has no kill or restart pending, and reports whether it did.
func (n *Node) restartForCode(p *Process) bool {
	st := &p.ops
	st.mu.Lock()
	defer st.mu.Unlock()
	if p.operable(st, "restart") != nil || p.parent == nil || p.parent.pid.Load() == nil || p.pid.Load() == nil {
		return false
	}
	st.pending = p.Incarnation()
	reason := ReasonCodeChange
	p.endHint.Store(&reason)
	p.setStatus(StatusRestarting)
	p.parent.tell(&restartChild{child: p})
	return true
}

// reloadFor asks Options.Reload for the current code of the worker with
// the given id, before an operator restart.
func (n *Node) reloadFor(id uint64) error {
	p, ok := n.Process(id)
	if !ok || n.reload == nil || p.kind != KindWorker || p.code() == nil {
		return nil
	}
	s, err := n.reload(p.code())
	if err != nil {
		return fmt.Errorf("restart %q: the script does not load, the old code keeps running: %w", p.path, err)
	}
	if s != nil {
		p.newCode.Store(s)
	}
	return nil
}
