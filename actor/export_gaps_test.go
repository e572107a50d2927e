package actor

import (
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
)

// ExportRefTo is ExportRef for a frame to peer, which the owner then
// counts as holding the token until it releases it.
func ExportRefTo(n *Node, c *capability.Capability, peer string) (wire.Ref, error) {
	return n.remote.exportCap(c, "", peer)
}

// LiveImports counts the remote targets n tracks that are still referenced.
func LiveImports(n *Node) int {
	r := n.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	k := 0
	for _, w := range r.imports {
		if w.Value() != nil {
			k++
		}
	}
	return k
}
