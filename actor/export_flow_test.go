package actor

import "time"

// FlowParked reports the frames n has parked for full mailboxes, their
// cost, and whether its retry loop runs, for the black-box tests of
// backpressure across nodes.
func FlowParked(n *Node) (frames int, cost int64, running bool) {
	fl := &n.remote.flow
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for _, pp := range fl.peers {
		frames += pp.n
	}
	return frames, fl.total, fl.running
}

// SetParkBounds sets the bounds of the frames n parks per peer.
func SetParkBounds(n *Node, frames int, cost int64) {
	fl := &n.remote.flow
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.maxFrames, fl.maxCost = frames, cost
}

// SetParkWait sets how long a mailbox of n may take none of a peer's
// parked frames before they are refused.
func SetParkWait(n *Node, d time.Duration) {
	fl := &n.remote.flow
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.maxWait = d
}
