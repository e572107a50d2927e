package actor

import (
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster/wire"
)

// ImportRef is the capability n makes of a reference a peer sent in a
// message, for the black-box tests that play a peer.
func ImportRef(n *Node, ref wire.Ref) (*capability.Capability, error) {
	return n.remote.importRef(ref)
}

// ExportRefAs is ExportRef for a capability the process at holder sends.
func ExportRefAs(n *Node, c *capability.Capability, holder string) (wire.Ref, error) {
	return n.remote.exportCap(c, holder)
}

// MaxHolderExports is the bound of the capabilities one process may
// have exported at once.
const MaxHolderExports = maxHolderExports
