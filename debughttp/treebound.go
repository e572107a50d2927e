package debughttp

import "github.com/cloister-rt/cloister/actor"

// TreeBounded is Tree with at most maxChildren children shown under each
// supervisor, the first in start order; MoreChildren counts the rest. A
// node with a template of 100,000 children answers in a few hundred rows.
func TreeBounded(p *actor.Process, maxChildren int) *Process {
	return treeBounded(p, maxChildren, 0)
}

func treeBounded(p *actor.Process, maxChildren, depth int) *Process {
	out := snapshot(p)
	if depth >= maxTreeDepth {
		return out
	}
	children := p.Children()
	if len(children) > maxChildren {
		out.MoreChildren = len(children) - maxChildren
		children = children[:maxChildren]
	}
	for _, ch := range children {
		out.Children = append(out.Children, treeBounded(ch, maxChildren, depth+1))
	}
	return out
}
