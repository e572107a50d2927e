package actor

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
