package debughttp

import (
	"net/http"
	"strconv"

	"github.com/cloister-rt/cloister/cluster"
)

// Cluster is the answer of GET /debug/cluster: this node in its cluster,
// each other node, and the transport's counters. Incarnations are hex
// strings: 64 random bits do not fit a JSON number exactly.
type Cluster struct {
	Node        string `json:"node"`
	Incarnation string `json:"incarnation"`
	PeersUp     int    `json:"peers_up"`
	// Exports are the capabilities of this node that tokens given to other
	// nodes stand for, of at most ExportLimit; Imports the processes of
	// other nodes that capabilities here designate.
	Exports     int `json:"exports"`
	ExportLimit int `json:"export_limit"`
	Imports     int `json:"imports"`
	// PeerStateLimit bounds each peer's State.
	PeerStateLimit int           `json:"peer_state_limit"`
	Peers          []ClusterPeer `json:"peers"`
	// Transport is absent when the node's transport keeps no counters.
	Transport *TransportStats `json:"transport,omitempty"`
}

// ClusterPeer is one other node in Cluster.
type ClusterPeer struct {
	Name        string `json:"name"`
	Up          bool   `json:"up"`
	Incarnation string `json:"incarnation"` // running, or the last seen; "" if none
	// What this node holds with it (see actor.PeerInfo).
	Pending  int `json:"pending"`
	Monitors int `json:"monitors"`
	Watched  int `json:"watched"`
	Links    int `json:"links"`
	Serving  int `json:"serving"`
	State    int `json:"state"`
	// The transport's figures for it, since this node joined.
	FramesOut            uint64 `json:"frames_out"`
	FramesIn             uint64 `json:"frames_in"`
	BytesOut             uint64 `json:"bytes_out"`
	BytesIn              uint64 `json:"bytes_in"`
	Queued               int    `json:"queued"`
	QueuedBytes          int    `json:"queued_bytes"`
	Stalled              bool   `json:"stalled"`
	WindowStalls         uint64 `json:"window_stalls"`
	BackpressureRefusals uint64 `json:"backpressure_refusals"`
	Losses               uint64 `json:"losses"`
}

// TransportStats are the transport's node-wide counters (cluster.Stats).
type TransportStats struct {
	FramesOut  uint64 `json:"frames_out"`
	BytesOut   uint64 `json:"bytes_out"`
	BatchesOut uint64 `json:"batches_out"`
	FramesIn   uint64 `json:"frames_in"`
	BytesIn    uint64 `json:"bytes_in"`
	BatchesIn  uint64 `json:"batches_in"`
	// Drops by cause: malformed, stale, peer_lost, publish,
	// too_many_peers, slow_consumer.
	Drops map[string]uint64 `json:"drops"`
	// Refusals of Send by cause: backpressure, no_connection.
	Refusals         map[string]uint64 `json:"refusals"`
	WindowStalls     uint64            `json:"window_stalls"`
	WindowResets     uint64            `json:"window_resets"`
	PermissionErrors uint64            `json:"permission_errors"`
}

func hexInc(inc uint64) string {
	if inc == 0 {
		return ""
	}
	return strconv.FormatUint(inc, 16)
}

// cluster answers GET /debug/cluster.
func (s *server) cluster(w http.ResponseWriter, r *http.Request) {
	info, ok := s.cfg.Node.ClusterInfo()
	if !ok {
		fail(w, http.StatusNotFound, "this node is not clustered")
		return
	}
	out := Cluster{Node: info.Node, Incarnation: hexInc(info.Incarnation), Exports: info.Exports,
		ExportLimit: info.ExportLimit, Imports: info.Imports, PeerStateLimit: info.PeerStateLimit,
		Peers: make([]ClusterPeer, 0, len(info.Peers))}
	index := make(map[string]int, len(info.Peers))
	for _, p := range info.Peers {
		index[p.Name] = len(out.Peers)
		out.Peers = append(out.Peers, ClusterPeer{Name: p.Name, Up: p.Up, Incarnation: hexInc(p.Incarnation),
			Pending: p.Pending, Monitors: p.Monitors, Watched: p.Watched, Links: p.Links, Serving: p.Serving, State: p.State})
	}
	t := s.cfg.Node.Transport()
	if ps, ok := t.(interface{ PeerStats() []cluster.PeerStats }); ok {
		for _, st := range ps.PeerStats() {
			i, ok := index[st.Name]
			if !ok {
				// a node the transport has heard from and this node holds nothing with
				i = len(out.Peers)
				out.Peers = append(out.Peers, ClusterPeer{Name: st.Name, Up: st.Up, Incarnation: hexInc(st.Incarnation)})
			}
			p := &out.Peers[i]
			p.FramesOut, p.FramesIn, p.BytesOut, p.BytesIn = st.FramesOut, st.FramesIn, st.BytesOut, st.BytesIn
			p.Queued, p.QueuedBytes, p.Stalled = st.Queued, st.QueuedBytes, st.Stalled
			p.WindowStalls, p.BackpressureRefusals, p.Losses = st.WindowStalls, st.RefusedBackpressure, st.Losses
		}
	}
	for _, p := range out.Peers {
		if p.Up {
			out.PeersUp++
		}
	}
	if ts, ok := t.(interface{ Stats() cluster.Stats }); ok {
		st := ts.Stats()
		out.Transport = &TransportStats{
			FramesOut: st.FramesOut, BytesOut: st.BytesOut, BatchesOut: st.BatchesOut,
			FramesIn: st.FramesIn, BytesIn: st.BytesIn, BatchesIn: st.BatchesIn,
			Drops: map[string]uint64{"malformed": st.DropsMalformed, "stale": st.DropsStale, "peer_lost": st.DropsPeerLost,
				"publish": st.DropsPublish, "too_many_peers": st.DropsTooManyPeers, "slow_consumer": st.DropsSlowConsumer},
			Refusals:     map[string]uint64{"backpressure": st.RefusedBackpressure, "no_connection": st.RefusedNoConnection},
			WindowStalls: st.WindowStalls, WindowResets: st.WindowResets, PermissionErrors: st.PermissionErrors,
		}
	}
	writeJSON(w, http.StatusOK, out)
}
