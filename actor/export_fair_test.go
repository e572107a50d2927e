package actor

// PeerStateOf counts the monitors, links and requests with node peer
// that the process at holder holds on n.
func PeerStateOf(n *Node, peer, holder string) int {
	r := n.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateBy[holdKey{peer, holder}]
}

// SetHolderPeerState lowers the share of a peer's state one process may
// hold on n, so a test reaches it in a few steps.
func SetHolderPeerState(n *Node, k int) {
	r := n.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdMax = k
}
