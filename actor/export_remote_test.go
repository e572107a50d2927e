package actor

import (
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
)

// RemoteExports counts the capabilities n has exported to other nodes,
// after dropping those of dynamic children that are gone, for the
// black-box tests of the export table.
func RemoteExports(n *Node) int {
	r := n.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepExports()
	return len(r.exports)
}

// ExportRef exports c as a frame would carry it to another node, for the
// black-box tests that play a peer.
func ExportRef(n *Node, c *capability.Capability) (wire.Ref, error) {
	return n.remote.exportCap(c, "", "")
}
