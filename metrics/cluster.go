package metrics

import (
	"sync"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/cluster"

	"github.com/prometheus/client_golang/prometheus"
)

// The cluster's figures, read at scrape time from the node
// (actor.Node.ClusterInfo) and its transport (cluster.Transport's Stats
// and PeerStats). A node that is not clustered reports none of them.

const (
	labelPeer = "peer"
	labelSide = "side"

	// maxPeerLabels bounds the peers that get a series of their own; the
	// others are summed under peer="*" (no node name has a '*'). Peers are
	// the manifest's nodes, and the transport tracks at most
	// cluster.Config.MaxPeers, so this is a second bound, not the first.
	maxPeerLabels = 64
	otherPeers    = "*"
)

var (
	descClusterPeersUp = prometheus.NewDesc("cloister_cluster_peers_up",
		"Other nodes of the cluster reachable now.", nil, nil)
	descClusterPeerUp = prometheus.NewDesc("cloister_cluster_peer_up",
		"1 if the peer node is reachable now, else 0 (for peer=\"*\", the number of those peers reachable).", []string{labelPeer}, nil)
	descClusterFramesOut = prometheus.NewDesc("cloister_cluster_frames_out_total",
		"Frames published to the peer node.", []string{labelPeer}, nil)
	descClusterFramesIn = prometheus.NewDesc("cloister_cluster_frames_in_total",
		"Frames received from the peer node and handed to this node.", []string{labelPeer}, nil)
	descClusterBytesOut = prometheus.NewDesc("cloister_cluster_bytes_out_total",
		"Bytes of the batches published to the peer node.", []string{labelPeer}, nil)
	descClusterBytesIn = prometheus.NewDesc("cloister_cluster_bytes_in_total",
		"Bytes of the batches received from the peer node.", []string{labelPeer}, nil)
	descClusterQueued = prometheus.NewDesc("cloister_cluster_queued_frames",
		"Frames waiting to be published to the peer node.", []string{labelPeer}, nil)
	descClusterStalls = prometheus.NewDesc("cloister_cluster_window_stalls_total",
		"Times the peer node's window was full with frames waiting: it acknowledges slower than this node sends.", []string{labelPeer}, nil)
	descClusterBackpressure = prometheus.NewDesc("cloister_cluster_backpressure_refusals_total",
		"Frames to the peer node refused because its queue was full; the sender got a mailbox-full error.", []string{labelPeer}, nil)
	descClusterLosses = prometheus.NewDesc("cloister_cluster_peer_losses_total",
		"Incarnations of the peer node lost: silent past the dead time, left, or replaced by a new run.", []string{labelPeer}, nil)
	descClusterPending = prometheus.NewDesc("cloister_cluster_pending_requests",
		"Calls, spawns and inspects this node awaits the peer node's answer to.", []string{labelPeer}, nil)
	descClusterServing = prometheus.NewDesc("cloister_cluster_serving_requests",
		"Spawns and inspects the peer node asked of this node, not answered yet.", []string{labelPeer}, nil)
	descClusterMonitors = prometheus.NewDesc("cloister_cluster_monitors",
		"Monitors across nodes: side=\"watching\" are this node's processes watching the peer's, side=\"watched\" the peer's watching this node's.",
		[]string{labelPeer, labelSide}, nil)
	descClusterLinks = prometheus.NewDesc("cloister_cluster_links",
		"Links between processes of this node and of the peer node.", []string{labelPeer}, nil)
	descClusterExports = prometheus.NewDesc("cloister_cluster_exported_capabilities",
		"Capabilities of this node that tokens given to other nodes stand for.", nil, nil)
	descClusterDrops = prometheus.NewDesc("cloister_cluster_drops_total",
		"Inbound messages or outbound frames the transport dropped, by cause: malformed, stale, peer_lost, publish, too_many_peers, slow_consumer.",
		[]string{labelCause}, nil)
	descClusterRefusals = prometheus.NewDesc("cloister_cluster_send_refusals_total",
		"Frames the transport refused to queue, by cause: backpressure (the peer's queue was full) or no_connection (the peer was not reachable).",
		[]string{labelCause}, nil)
	descClusterResets = prometheus.NewDesc("cloister_cluster_window_resets_total",
		"Windows reopened because a live peer acknowledged nothing for the dead time (acknowledgements or batches lost on the way).", nil, nil)
	descClusterPermission = prometheus.NewDesc("cloister_cluster_permission_errors_total",
		"Subjects the NATS server refused this node; a node whose certificate names another node gets these.", nil, nil)
)

var clusterDescs = []*prometheus.Desc{
	descClusterPeersUp, descClusterPeerUp, descClusterFramesOut, descClusterFramesIn, descClusterBytesOut,
	descClusterBytesIn, descClusterQueued, descClusterStalls, descClusterBackpressure, descClusterLosses,
	descClusterPending, descClusterServing, descClusterMonitors, descClusterLinks, descClusterExports,
	descClusterDrops, descClusterRefusals, descClusterResets, descClusterPermission,
}

// transportStats is a transport with node-wide counters (cluster.Transport).
type transportStats interface{ Stats() cluster.Stats }

// peerStats is a transport with per-peer counters (cluster.Transport).
type peerStats interface{ PeerStats() []cluster.PeerStats }

// clusterCollector reports the cluster's figures at scrape time.
type clusterCollector struct {
	node *actor.Node

	mu       sync.Mutex
	labelled map[string]bool // peers with series of their own; once in, a peer stays
}

func newClusterCollector(node *actor.Node) *clusterCollector {
	return &clusterCollector{node: node, labelled: make(map[string]bool)}
}

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range clusterDescs {
		ch <- d
	}
}

// peerFigures are one peer label's figures, summed for peer="*".
type peerFigures struct {
	up                                          int
	framesOut, framesIn, bytesOut, bytesIn      uint64
	stalls, backpressure, losses                uint64
	queued, pending, serving, watching, watched int
	links                                       int
}

// label is the peer label name's figures go under. c.mu must be held.
func (c *clusterCollector) label(name string) string {
	if c.labelled[name] {
		return name
	}
	if len(c.labelled) < maxPeerLabels {
		c.labelled[name] = true
		return name
	}
	return otherPeers
}

// Collect implements prometheus.Collector.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	info, ok := c.node.ClusterInfo()
	if !ok {
		return
	}
	t := c.node.Transport()
	var (
		pstats []cluster.PeerStats
		st     *cluster.Stats
	)
	if ps, ok := t.(peerStats); ok {
		pstats = ps.PeerStats()
	}
	if ts, ok := t.(transportStats); ok {
		s := ts.Stats()
		st = &s
	}

	figs := make(map[string]*peerFigures)
	var order []string
	c.mu.Lock()
	at := func(name string) *peerFigures {
		l := c.label(name)
		f := figs[l]
		if f == nil {
			f = &peerFigures{}
			figs[l] = f
			order = append(order, l)
		}
		return f
	}
	up := 0
	upByName := make(map[string]bool, len(info.Peers))
	for _, p := range info.Peers {
		f := at(p.Name)
		if p.Up {
			f.up++
			up++
			upByName[p.Name] = true
		}
		f.pending += p.Pending
		f.serving += p.Serving
		f.watching += p.Monitors
		f.watched += p.Watched
		f.links += p.Links
	}
	for _, p := range pstats {
		f := at(p.Name)
		if p.Up && !upByName[p.Name] {
			// up in the transport before the node heard of it
			f.up++
			up++
		}
		f.framesOut += p.FramesOut
		f.framesIn += p.FramesIn
		f.bytesOut += p.BytesOut
		f.bytesIn += p.BytesIn
		f.stalls += p.WindowStalls
		f.backpressure += p.RefusedBackpressure
		f.losses += p.Losses
		f.queued += p.Queued
	}
	c.mu.Unlock()

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descClusterPeersUp, float64(up))
	gauge(descClusterExports, float64(info.Exports))
	for _, l := range order {
		f := figs[l]
		gauge(descClusterPeerUp, float64(f.up), l)
		gauge(descClusterPending, float64(f.pending), l)
		gauge(descClusterServing, float64(f.serving), l)
		gauge(descClusterMonitors, float64(f.watching), l, "watching")
		gauge(descClusterMonitors, float64(f.watched), l, "watched")
		gauge(descClusterLinks, float64(f.links), l)
		if pstats != nil {
			counter(descClusterFramesOut, f.framesOut, l)
			counter(descClusterFramesIn, f.framesIn, l)
			counter(descClusterBytesOut, f.bytesOut, l)
			counter(descClusterBytesIn, f.bytesIn, l)
			counter(descClusterStalls, f.stalls, l)
			counter(descClusterBackpressure, f.backpressure, l)
			counter(descClusterLosses, f.losses, l)
			gauge(descClusterQueued, float64(f.queued), l)
		}
	}
	if st == nil {
		return
	}
	for cause, v := range map[string]uint64{
		"malformed": st.DropsMalformed, "stale": st.DropsStale, "peer_lost": st.DropsPeerLost,
		"publish": st.DropsPublish, "too_many_peers": st.DropsTooManyPeers, "slow_consumer": st.DropsSlowConsumer,
	} {
		counter(descClusterDrops, v, cause)
	}
	counter(descClusterRefusals, st.RefusedBackpressure, "backpressure")
	counter(descClusterRefusals, st.RefusedNoConnection, "no_connection")
	counter(descClusterResets, st.WindowResets)
	counter(descClusterPermission, st.PermissionErrors)
}
