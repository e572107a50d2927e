package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/manifest"
)

// frontReport is what the example's front answers a call {type:
// "report"} and GET /report with.
type frontReport struct {
	Ticks   int            `json:"ticks" msgpack:"ticks"`
	Calls   int            `json:"calls" msgpack:"calls"`
	Jobs    int            `json:"jobs" msgpack:"jobs"`
	Lent    int            `json:"lent" msgpack:"lent"`
	Revoked int            `json:"revoked" msgpack:"revoked"`
	Errors  map[string]int `json:"errors" msgpack:"errors"`
	Downs   map[string]int `json:"downs" msgpack:"downs"`
	Exits   map[string]int `json:"exits" msgpack:"exits"`
	Events  []string       `json:"events" msgpack:"events"`
	// Counter is the counter's inspect() on node b, or the error it failed with.
	Counter struct {
		Value int    `json:"value" msgpack:"value"`
		Error string `json:"error" msgpack:"error"`
	} `json:"counter" msgpack:"counter"`
}

// count returns how many times event is in the report's events.
func (r *frontReport) count(event string) int {
	n := 0
	for _, e := range r.Events {
		if e == event {
			n++
		}
	}
	return n
}

// waitFront polls report until cond holds and returns that report.
func waitFront(t *testing.T, report func() (*frontReport, error), what string, cond func(*frontReport) bool) *frontReport {
	t.Helper()
	var last *frontReport
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		r, err := report()
		if err != nil {
			return err
		}
		last = r
		if !cond(r) {
			return fmt.Errorf("waiting for %s: %+v", what, r)
		}
		return nil
	})
	return last
}

// writeClusterManifest writes the example cluster, without its gateway
// and NATS URL, with the dev certificates in certs. Its dead_after is
// long: TestCluster_InProcess counts every loss, and on a loaded machine a
// node can miss heartbeats for a second or more and be lost and found
// again (TestCluster_Processes has seen it at 1.5 s); a node that leaves
// says so at once, whatever dead_after is.
func writeClusterManifest(t *testing.T, dir, certs string) string {
	t.Helper()
	examples, err := filepath.Abs("../../examples/cluster")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "app.yaml", fmt.Sprintf(`cluster:
  nodes: [a, b, c]
  heartbeat: 100ms
  dead_after: 10s
  tls:
    cert: %[1]s/node-{node}.pem
    key: %[1]s/node-{node}-key.pem
    ca: %[1]s/ca.pem
root:
  strategy: one_for_one
  children:
    - name: front
      node: a
      script: %[2]s/front.js
      grants:
        counter: {to: counter, rights: [send, monitor, link, inspect]}
        pool: {to: pool, rights: [spawn, monitor]}
    - name: counter
      node: b
      script: %[2]s/counter.js
    - name: pool
      node: c
      strategy: one_for_one
      template: {script: %[2]s/worker.js, restart: temporary}
`, certs, examples))
}

// inProcessNode is one node of TestCluster_InProcess, joined the way
// `cloister run --node` joins: the same flags, the same calls.
type inProcessNode struct {
	node *actor.Node
	join *clusterNode
	log  *testkit.LockedBuffer
}

func startInProcess(t *testing.T, path, name, nats, embed string) *inProcessNode {
	t.Helper()
	app, err := manifest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cf := &clusterFlags{node: &name, nats: &nats, embed: &embed}
	view, join, err := cf.prepare(app)
	if err != nil {
		t.Fatal(err)
	}
	p := &inProcessNode{join: join, log: &testkit.LockedBuffer{}}
	opts := view.Options()
	if err := join.dial(&opts, testkit.Logger(p.log)); err != nil {
		t.Fatal(err)
	}
	if p.node, err = actor.NewNode(opts); err != nil {
		join.close()
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if err := join.start(p.node); err != nil {
		t.Fatal(err)
	}
	if err := p.node.Start(view.Root); err != nil {
		t.Fatal(err)
	}
	return p
}

// stop shuts the node down, then leaves the cluster. Safe to call twice.
func (p *inProcessNode) stop() {
	_ = p.node.Shutdown(context.Background())
	_ = p.node.Wait()
	p.join.close()
}

// TestCluster_InProcess joins three nodes through a NATS server embedded
// in node a, with mTLS and a NATS user per node, running the example
// cluster's scripts: the front on a sends to, calls, monitors, links and
// inspects the counter on b, spawns workers on c, and lends each a
// revocable capability to the counter that a revokes after one use. Then
// node b leaves, the front sees down and exit noconnection and goes on
// with c, and a new incarnation of b is reached through the same grant.
func TestCluster_InProcess(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	if err := run(context.Background(), []string{"cluster", "certs", "--nodes", "a,b,c", certs}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	path := writeClusterManifest(t, dir, certs)
	a := startInProcess(t, path, "a", "", "127.0.0.1:0")
	url := a.join.dev.URL()
	b := startInProcess(t, path, "b", url, "")
	startInProcess(t, path, "c", url, "")
	front, err := a.node.Capability("front", capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	report := func() (*frontReport, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var r frontReport
		return &r, a.node.Call(ctx, front, map[string]any{"type": "report"}, &r)
	}
	wait := func(what string, cond func(*frontReport) bool) *frontReport {
		t.Helper()
		return waitFront(t, report, what, cond)
	}

	r := wait("jobs across the three nodes", func(r *frontReport) bool {
		return r.Jobs >= 3 && r.Lent >= 3 && r.Revoked >= 3 && r.Calls >= 3
	})
	if got := r.count("watch:counter") + r.count("watch:pool"); got != 2 {
		t.Errorf("events %q: want one watch of the counter and one of the pool", r.Events)
	}
	if r.Counter.Value < 1 || r.Counter.Error != "" {
		t.Errorf("inspect of the counter on b: %+v, want its value", r.Counter)
	}
	if len(r.Errors) != 0 || len(r.Downs) != 0 || len(r.Exits) != 0 {
		t.Errorf("with every node up: errors %v, downs %v, exits %v", r.Errors, r.Downs, r.Exits)
	}

	// Node b leaves: its transport says so to the others at once.
	b.join.close()
	r = wait("the loss of b", func(r *frontReport) bool {
		return r.Downs["noconnection"] == 1 && r.Exits["noconnection"] == 1 && r.Errors["NoConnectionError"] >= 1
	})
	if i, j := slices.Index(r.Events, "watch:counter"), slices.Index(r.Events, "down:counter:noconnection"); i < 0 || j < i {
		t.Errorf("events %q: want watch:counter, then down:counter:noconnection", r.Events)
	}
	jobs := r.Jobs
	r = wait("jobs on c without b", func(r *frontReport) bool { return r.Jobs >= jobs+2 })
	if r.Counter.Error != "NoConnectionError" {
		t.Errorf("inspect of the counter on a lost node: %+v, want NoConnectionError", r.Counter)
	}

	// A new incarnation of b: the front's grant reaches it, and the front
	// watches it again.
	b.stop()
	startInProcess(t, path, "b", url, "")
	calls := r.Calls
	r = wait("b back", func(r *frontReport) bool {
		return r.count("watch:counter") == 2 && r.Calls >= calls+2 && r.Counter.Error == ""
	})
	if r.Downs["noconnection"] != 1 || r.Exits["noconnection"] != 1 {
		t.Errorf("after b's return: downs %v, exits %v, want one of each from its loss", r.Downs, r.Exits)
	}
}
