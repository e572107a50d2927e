package actor

import (
	"slices"
	"strings"

	"github.com/cloister-rt/cloister/cluster/wire"
)

// ClusterInfo is what a clustered node holds of its cluster, for
// operators (Node.ClusterInfo).
type ClusterInfo struct {
	// Node is this node's name and Incarnation this run of it.
	Node        string
	Incarnation uint64
	// Exports are the capabilities of this node that tokens stand for
	// (given to other nodes in messages); Imports the processes of other
	// nodes that capabilities here designate, as far as they are tracked.
	Exports, Imports int
	// ExportLimit and PeerStateLimit are the bounds: of Exports, and of
	// PeerInfo.State for each peer.
	ExportLimit, PeerStateLimit int
	// RefusalsDropped counts the refusals peers sent that named no
	// one-way request of this node awaiting an answer (forged, replayed,
	// or older than this node remembers): dropped, with no event.
	RefusalsDropped uint64
	// ReleasesSent counts the releases of other nodes' tokens this node
	// sent once it held them no more, and ReleasesUnsent those its
	// transport refused (their owners keep the tokens until this node is
	// lost); ReleasesRefused counts the releases and pins peers sent that
	// named a token not held by them (or not that many times): refused,
	// the token kept.
	ReleasesSent, ReleasesUnsent, ReleasesRefused uint64
	// Peers are the other nodes, sorted by name: those the manifest
	// places children on, those up, and those this node still holds
	// anything with.
	Peers []PeerInfo
}

// PeerInfo is what a node holds with one other node.
type PeerInfo struct {
	Name string
	// Up says the node is reachable; Incarnation is its running
	// incarnation, or the last the transport saw when down (0 if none).
	Up          bool
	Incarnation uint64
	// Pending are the requests (calls, spawns, inspects) this node awaits
	// its answers to.
	Pending int
	// Monitors are the monitors this node's processes hold on its
	// processes; Watched those its processes hold on this node's.
	Monitors, Watched int
	// Links are the links between processes of the two nodes.
	Links int
	// Serving are the spawns and inspects it asked of this node that are
	// not answered yet.
	Serving int
	// State is what counts against PeerStateLimit: pending requests,
	// monitors both ways and links.
	State int
}

// peerLister is a transport that can name the peers it sees up
// (cluster.Transport does).
type peerLister interface{ Peers() []string }

// ClusterInfo reports the node's cluster state: itself, and for each other
// node whether it is up and what is held with it. ok is false when the
// node is not clustered. It takes the cluster tables' lock for one pass
// over them, as long as a node-loss sweep.
func (n *Node) ClusterInfo() (info ClusterInfo, ok bool) {
	r := n.remote
	if r == nil {
		return ClusterInfo{}, false
	}
	info = ClusterInfo{Node: r.self, Incarnation: r.inc, ExportLimit: maxExports, PeerStateLimit: maxPeerState,
		RefusalsDropped: r.sent.dropped.Load(), ReleasesSent: r.releasesSent.Load(),
		ReleasesUnsent: r.releasesUnsent.Load(), ReleasesRefused: r.releasesRefused.Load()}
	byName := make(map[string]*PeerInfo)
	peer := func(name string) *PeerInfo {
		p := byName[name]
		if p == nil {
			p = &PeerInfo{Name: name}
			byName[name] = p
		}
		return p
	}
	if m := r.placement.Load(); m != nil {
		for _, pl := range *m {
			if pl.node != "" && pl.node != r.self {
				peer(pl.node)
			}
		}
	}
	var seen []string
	if pl, ok := r.t.(peerLister); ok {
		seen = pl.Peers()
	}

	r.mu.Lock()
	info.Exports, info.Imports = len(r.exports), len(r.imports)
	for name, inc := range r.peers {
		p := peer(name)
		p.Up, p.Incarnation = true, inc
	}
	for _, pd := range r.pending {
		peer(pd.peer).Pending++
	}
	for _, m := range r.mons {
		peer(m.peer).Monitors++
	}
	for key := range r.owned {
		peer(key.peer).Watched++
	}
	for key := range r.links {
		peer(key.peer).Links++
	}
	for name, k := range r.inflight {
		peer(name).Serving = k
	}
	for name, k := range r.perPeer {
		peer(name).State = k
	}
	r.mu.Unlock()

	for _, name := range seen {
		if name != r.self {
			peer(name)
		}
	}
	info.Peers = make([]PeerInfo, 0, len(byName))
	for _, p := range byName {
		if !p.Up {
			// Up in the transport before its PeerUp reached this node,
			// or down: the transport knows the incarnation.
			p.Incarnation, p.Up = r.t.Peer(p.Name)
		}
		info.Peers = append(info.Peers, *p)
	}
	slices.SortFunc(info.Peers, func(a, b PeerInfo) int { return strings.Compare(a.Name, b.Name) })
	return info, true
}

// Transport is the transport the node was clustered with
// (Options.Cluster), nil when it is not clustered. Operators' tools type
// assert it for their figures (package cluster's Transport has Stats).
func (n *Node) Transport() wire.Transport {
	if n.remote == nil {
		return nil
	}
	return n.remote.t
}
