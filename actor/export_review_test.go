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
	return n.remote.exportCap(c, holder, "")
}

// MaxHolderExports is the bound of the capabilities one process may
// have exported at once.
const MaxHolderExports = maxHolderExports

// MonitorNotifies returns the notifications p's monitors held for other
// nodes would run, to play a process ending concurrently with a peer's
// loss: its end has taken them and runs them later.
func MonitorNotifies(p *Process) []func(string) {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	var fs []func(string)
	for _, m := range p.life.monitors {
		if m.notify != nil {
			fs = append(fs, m.notify)
		}
	}
	return fs
}
