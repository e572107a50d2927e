package actor

import (
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

// Read-only views of a process for operators: the debug endpoint and the
// metrics collector read these. Every method is safe for concurrent use.

// Parent returns the supervisor of p, or nil for the root.
func (p *Process) Parent() *Process { return p.parent }

// Limits returns the limits p's incarnations run under: the spec's, with the
// node's defaults filling the zero fields. It is the zero value for a
// supervisor.
func (p *Process) Limits() isolate.Limits {
	if p.kind != KindWorker {
		return isolate.Limits{}
	}
	return p.node.limitsFor(p.spec.Limits)
}

// ShutdownTimeout is the time p gets to stop in order before it is killed.
func (p *Process) ShutdownTimeout() time.Duration { return p.shutdown() }

// StartTimeout is the time a worker's init gets before its start fails and
// the incarnation is killed; 0 for a supervisor, which has no bound of its
// own.
func (p *Process) StartTimeout() time.Duration {
	if p.kind != KindWorker {
		return 0
	}
	return p.spec.startTimeout()
}

// Strategy names a supervisor's strategy ("one_for_one"), or "" for a worker.
func (p *Process) Strategy() string {
	if p.spec.Strategy == nil {
		return ""
	}
	return p.spec.Strategy.String()
}

// Held is a capability a process holds from its manifest: the name it has in
// ctx.env, the path of its target and its rights.
type Held struct {
	Name    string // self, a grant's name, or "" for one received or made
	Target  string
	Rights  []string
	Revoked bool
}

// Held lists the capabilities p holds: ctx.self, the manifest's grants in
// ctx.env order, then those its running incarnation has received in
// messages or made (attenuate, revocable), oldest first, up to a bound.
// A script may have dropped some of the last kind since.
func (p *Process) Held() []Held {
	if p.kind != KindWorker {
		return nil
	}
	out := []Held{{Name: "self", Target: p.path, Rights: capability.All.Names()}}
	held := func(name string, c *capability.Capability) Held {
		h := Held{Name: name, Rights: c.Rights().Names(), Revoked: c.Check(0, "") != nil}
		switch t := c.Target().(type) {
		case *Process:
			h.Target = t.path
		case *remoteProcess:
			h.Target = t.describe()
		}
		return h
	}
	for _, g := range p.grants {
		out = append(out, held(g.Name, g.Cap))
	}
	if iso := p.liveIso.Load(); iso != nil {
		received, _ := iso.Received()
		for _, c := range received {
			out = append(out, held("", c))
		}
	}
	return out
}

// Static reports whether p is declared in the manifest, as opposed to a
// dynamic child started from a template. Metrics label static processes by
// path and dynamic ones by their supervisor's path.
func (p *Process) Static() bool { return !p.dynamic }

// MetricName is the bounded name metrics use for p: its path from the root
// ("/" for the root itself) if it is declared in the manifest, its
// supervisor's path followed by "/*" if it is a dynamic child.
func (p *Process) MetricName() string {
	if !p.Static() && p.parent != nil {
		return p.parent.MetricName() + "/*"
	}
	if p.path == "" {
		return "/"
	}
	return p.path
}

// Processes returns every process of the tree, parents before children
// and siblings in start order. It is empty before Start. Safe for
// concurrent use.
func (n *Node) Processes() []*Process {
	root := n.Root()
	if root == nil {
		return nil
	}
	var out []*Process
	stack := []*Process{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, p)
		children := p.Children()
		for i := len(children) - 1; i >= 0; i-- {
			stack = append(stack, children[i])
		}
	}
	return out
}

// CPUTime is the CPU time p's turns have used over all its incarnations,
// as the CPU limit counted them: the turn thread's CPU clock for a turn
// that ran past the limit's first checkpoint, the turn's wall time (under
// a millisecond) for a shorter one. It is 0 for a supervisor and a Go
// actor, which have no isolate. Reading it costs two atomic loads.
func (p *Process) CPUTime() time.Duration {
	d := time.Duration(p.cpuDone.Load())
	if iso := p.liveIso.Load(); iso != nil {
		d += iso.CPUTime()
	}
	return d
}

// Memory is what the running incarnation's isolate held, by its memory
// limiter's account, when its last turn ended: the last walk of its heap
// plus an upper bound of what it allocated since (garbage included, until
// the next walk) plus what the host holds for it. It does not walk the
// heap. It is 0 for a supervisor, a Go actor and a process not running.
func (p *Process) Memory() int64 {
	if iso := p.liveIso.Load(); iso != nil {
		return iso.LastMemory()
	}
	return 0
}
