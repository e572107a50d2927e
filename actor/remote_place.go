package actor

import (
	"fmt"
	"strings"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/isolate"
)

// Placement: every node builds the same tree from the same spec and
// starts only its part. A direct child of the root with Node set runs on
// that node alone; the others run on every node. Each node keeps the
// specs of the whole tree by path, so a grant naming a process placed
// elsewhere resolves to a remote capability, and so it can check the
// static grants peers invoke on its own processes.

// placed is where a path of the tree runs, and its spec.
type placed struct {
	node string // "" for every node
	spec *ChildSpec
}

// runsOn reports whether node runs the process placed as pl: the node it
// is placed on, or every node when it is not placed.
func (pl placed) runsOn(node string) bool { return pl.node == "" || pl.node == node }

// place validates root's placement and returns the part of the tree this
// node builds: root with the children placed on other nodes left out.
func (n *Node) place(root ChildSpec) (ChildSpec, error) {
	r := n.remote
	if err := checkUnplaced(root.Children, root.Name, true); err != nil {
		return root, err
	}
	if r == nil {
		for _, cs := range root.Children {
			if cs.Node != "" {
				return root, fmt.Errorf("child %q: placed on node %q, but this node is not clustered (no cluster is configured)", cs.Name, cs.Node)
			}
		}
		return root, nil
	}
	index := make(map[string]placed)
	mine := make([]ChildSpec, 0, len(root.Children))
	for i := range root.Children {
		cs := &root.Children[i]
		indexSpec(index, cs, cs.Name, cs.Node)
		if cs.Node == "" || cs.Node == r.self {
			mine = append(mine, *cs)
		}
	}
	r.placement.Store(&index)
	root.Children = mine
	return root, nil
}

// checkUnplaced refuses a placement below the root's children.
func checkUnplaced(children []ChildSpec, parent string, top bool) error {
	for _, cs := range children {
		if !top && cs.Node != "" {
			return fmt.Errorf("child %q of %q: only the root's direct children may be placed on a node", cs.Name, parent)
		}
		if cs.Template != nil && cs.Template.Node != "" {
			return fmt.Errorf("supervisor %q: a template cannot be placed; its children run where it does", cs.Name)
		}
		if err := checkUnplaced(cs.Children, cs.Name, false); err != nil {
			return err
		}
	}
	return nil
}

// indexSpec records spec and its subtree at path, placed on node.
func indexSpec(index map[string]placed, spec *ChildSpec, path, node string) {
	index[path] = placed{node: node, spec: spec}
	for i := range spec.Children {
		ch := &spec.Children[i]
		indexSpec(index, ch, path+"/"+ch.Name, node)
	}
}

// grantTarget is what a grant to holder over path designates: the local
// process, or a process placed on another node.
func (n *Node) grantTarget(path, holder string) (capability.Target, bool) {
	if path == "" {
		return nil, false
	}
	if p, ok := n.Lookup(path); ok {
		return p, true
	}
	if r := n.remote; r != nil {
		if pl, ok := r.placed(path); ok && pl.node != "" && pl.node != r.self {
			return r.targetHeld(wire.Ref{Node: pl.node, Path: path}, holder), true
		}
	}
	return nil, false
}

// checkStatic checks a static-grant reference a peer invoked: from must
// be a process placed on peer, or run by every node, (or a dynamic child
// of a template so placed) whose spec grants path at least need, and path
// must be a process placed on this node. It returns the grant's rights.
func (r *remote) checkStatic(peer, from, path string, need capability.Rights, op string) (*Process, capability.Rights, error) {
	deny := func(why string) (*Process, capability.Rights, error) {
		return nil, 0, fmt.Errorf("%s: %w: %s", op, capability.ErrDenied, why)
	}
	if r.placement.Load() == nil {
		return nil, 0, fmt.Errorf("%s: %w: node %s has not started", op, isolate.ErrNoProc, r.self)
	}
	to, ok := r.placed(path)
	if !ok || to.node != r.self {
		return deny(fmt.Sprintf("%q is not placed on node %s", path, r.self))
	}
	var spec *ChildSpec
	if pl, ok := r.placed(from); ok && from != "" {
		if !pl.runsOn(peer) {
			return deny(fmt.Sprintf("%q is not placed on node %s", from, peer))
		}
		spec = pl.spec
	} else if i := strings.LastIndexByte(from, '/'); i > 0 {
		if pl, ok := r.placed(from[:i]); ok && pl.runsOn(peer) && pl.spec.Template != nil {
			spec = pl.spec.Template
		}
	}
	if spec == nil {
		return deny(fmt.Sprintf("no process %q is placed on node %s", from, peer))
	}
	var rights capability.Rights
	for _, g := range spec.Grants {
		if g.Target == nil && g.To == path {
			rights |= g.Rights
		}
	}
	if rights == 0 {
		return deny(fmt.Sprintf("%q holds no grant over %q", from, path))
	}
	p, ok := r.n.Lookup(path)
	if !ok {
		return nil, 0, fmt.Errorf("%w: no process at %q", isolate.ErrNoProc, path)
	}
	if !rights.Has(need) {
		return nil, 0, &capability.DeniedError{Op: op, Need: need &^ rights}
	}
	return p, rights, nil
}

// staticHit is the last static grant a peer's frame named that
// checkStatic allowed: the peer, the process acting and the target's
// path, the rights the manifest grants, the process found at the path
// and the capability made for it.
type staticHit struct {
	peer, from, path string
	rights           capability.Rights
	p                *Process
	c                *capability.Capability
}

// staticCap is checkStatic's capability for a frame of peer that names
// the static grant of from over path. The placement, and so the rights
// from holds over path, never change once the node has started; so a
// frame naming the same grant as the last one allowed is checked against
// the rights found then, and against the process at path now: a process
// started anew at path is checked from the start.
func (r *remote) staticCap(peer, from, path string, need capability.Rights, op string) (*capability.Capability, error) {
	if h := r.static.Load(); h != nil && h.peer == peer && h.from == from && h.path == path {
		if p, ok := r.n.Lookup(path); ok && p == h.p {
			if !h.rights.Has(need) {
				return nil, &capability.DeniedError{Op: op, Need: need &^ h.rights}
			}
			return h.c, nil
		}
	}
	p, rights, err := r.checkStatic(peer, from, path, need, op)
	if err != nil {
		return nil, err
	}
	c := capability.New(p, rights)
	r.static.Store(&staticHit{peer: peer, from: from, path: path, rights: rights, p: p, c: c})
	return c, nil
}
