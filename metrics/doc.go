// Package metrics exports a node's Prometheus metrics: every name starts
// with cloister_, and per-tenant labels are manifest paths, so their number
// is bounded by the manifest (dynamic children are counted under their
// supervisor's path followed by "/*").
//
// Metrics is a prometheus.Collector, for an embedding program's own
// registry, and also comes with a registry of its own (with the Go runtime
// and process collectors) for a program that has none:
//
//	m := metrics.New(node) // before node.Start, so that no event is missed
//	reg.MustRegister(m)    // on the program's registry, or:
//	http.Handle("/metrics", m.Handler())
//
// Events reach the metrics through a node subscription (actor.Node.Subscribe);
// cloister_events_dropped_total counts those the metrics missed because
// they fell behind.
//
// A clustered node also reports its cluster at scrape time
// (cloister_cluster_*): its peers, the transport's traffic, backpressure
// and drops, and what it holds with each peer. The peer label is a node
// name, bounded by the manifest; past 64 names, further peers are summed
// under peer="*".
package metrics
