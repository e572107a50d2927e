// Package debughttp serves a node's operator endpoint: the process tree and
// each process's details as JSON, the state a script chooses to show
// through its inspect() export, operator stop/kill/restart, Prometheus
// metrics, a clustered node's peers and transport counters
// (/debug/cluster), and a live HTML view of the tree.
//
//	srv := debughttp.NewServer(debughttp.Config{Node: node, Token: token, Metrics: m.Handler()})
//	go srv.Serve(ln)
//
// An embedding program can mount Handler on a mux of its own instead; its
// routes are /, /ui/, /debug/ and /metrics:
//
//	h := debughttp.Handler(debughttp.Config{Node: node, Token: token})
//	mux.Handle("/debug/", h)
//
// Operators are not actors: the endpoint's authority comes from its bearer
// token alone. Mutating routes always need it; with Config.Private set,
// every data route does. Every request must name a loopback host or one of
// Config.Hosts in its Host header, so that a web page whose DNS name an
// attacker points at 127.0.0.1 (DNS rebinding) cannot read the open
// loopback routes from a browser on the operator's machine.
package debughttp
