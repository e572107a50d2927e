// Package testcluster is the fixture of black-box tests that need nodes
// joined in a cluster in one process: an embedded NATS server, one real
// transport per node, every node running the same tree and starting its
// part. Everything is shut down when the test ends: nodes first, then
// their transports, then the server.
package testcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/cluster"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
)

// Cluster is the running fixture.
type Cluster struct {
	Server     *cluster.DevServer
	Nodes      map[string]*actor.Node
	Transports map[string]*cluster.Transport
}

// Start runs a node for each name, all on one embedded NATS server, each
// starting its part of root. before, if set, runs for each node after
// NewNode and before the node joins and starts (the time for
// metrics.New). Peers are lost only when they leave or are replaced: the
// dead time is long, so a loaded machine loses none. Start returns once
// every node sees every other up.
func Start(t testing.TB, root actor.ChildSpec, before func(name string, n *actor.Node), names ...string) *Cluster {
	t.Helper()
	srv, err := cluster.StartDevServer(cluster.ServerOptions{Nodes: names})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	c := &Cluster{Server: srv, Nodes: make(map[string]*actor.Node), Transports: make(map[string]*cluster.Transport)}
	for _, name := range names {
		tr, err := cluster.Dial(cluster.Config{Name: name, URLs: []string{srv.URL()}, DeadAfter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		n, err := actor.NewNode(actor.Options{Cluster: tr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testnode.ShutdownTimeout)
			defer cancel()
			if err := n.Shutdown(ctx); err != nil {
				t.Errorf("shutdown of node %s: %v", name, err)
			}
		})
		if before != nil {
			before(name, n)
		}
		if err := tr.Start(n); err != nil {
			t.Fatal(err)
		}
		if err := n.Start(root); err != nil {
			t.Fatalf("start node %s: %v", name, err)
		}
		c.Nodes[name], c.Transports[name] = n, tr
	}
	testkit.CheckFor(t, 20*time.Second, 5*time.Millisecond, func() error {
		for _, name := range names {
			info, _ := c.Nodes[name].ClusterInfo()
			up := 0
			for _, p := range info.Peers {
				if p.Up {
					up++
				}
			}
			if up != len(names)-1 {
				return fmt.Errorf("node %s sees %d of %d peers up: %+v", name, up, len(names)-1, info.Peers)
			}
		}
		return nil
	})
	return c
}
