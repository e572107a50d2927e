package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster"
	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit/testcluster"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"
)

// front, on node a, acts on back and sink, on node b.
const clusterFrontJS = `
export function init(args, ctx) { ctx.trapExits(true); }
export async function receive(msg, ctx) {
  if (ctx.isNotification(msg)) return;
  switch (msg.type) {
    case "fwd": for (let i = 0; i < msg.n; i++) ctx.env.back.send({type: "ping", i}); return true;
    case "watch": ctx.env.back.monitor(); ctx.env.back.link(); return true;
    case "give": ctx.env.back.send({type: "keep", cap: ctx.self}); return true;
    case "hang":
      try { await ctx.env.sink.call({}, {timeout: 600000}); } catch (e) { return e.name; }
      return "answered";
  }
}`

// back keeps and watches the capability it is given.
const clusterBackJS = `
let seen = 0;
export function receive(msg, ctx) {
  if (ctx.isNotification(msg)) return;
  switch (msg.type) {
    case "ping": seen++; return;
    case "keep": msg.cap.monitor(); return;
    case "seen": return seen;
  }
}`

// sink never answers.
const clusterSinkJS = `export async function receive() { await new Promise(() => {}); }`

// clusterTree places front on a, back and sink on b, far on c.
func clusterTree(t *testing.T) actor.ChildSpec {
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: []actor.ChildSpec{
		{Name: "front", Node: "a", Script: testnode.Script(t, "front.js", []byte(clusterFrontJS)), Grants: []actor.GrantSpec{
			{Name: "back", To: "back", Rights: capability.Send | capability.Monitor | capability.Link},
			{Name: "sink", To: "sink", Rights: capability.Send},
		}},
		{Name: "back", Node: "b", Script: testnode.Script(t, "back.js", []byte(clusterBackJS))},
		{Name: "sink", Node: "b", Script: testnode.Script(t, "sink.js", []byte(clusterSinkJS))},
		// node c never runs: a and b show it down
		{Name: "far", Node: "c", Script: testnode.Script(t, "sink.js", []byte(clusterSinkJS))},
	}}
}

// clusterFixture is nodes a and b over an embedded NATS server, each with
// its metrics served.
type clusterFixture struct {
	*testcluster.Cluster
	srv map[string]*httptest.Server
}

func startCluster(t *testing.T) *clusterFixture {
	t.Helper()
	f := &clusterFixture{srv: make(map[string]*httptest.Server)}
	f.Cluster = testcluster.Start(t, clusterTree(t), func(name string, n *actor.Node) {
		srv := httptest.NewServer(metrics.New(n).Handler())
		t.Cleanup(srv.Close)
		f.srv[name] = srv
	}, "a", "b")
	return f
}

func (f *clusterFixture) scrape(t *testing.T, node string) string {
	t.Helper()
	resp, err := http.Get(f.srv[node].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// scrapeFor scrapes node until every line of want is in the scrape.
func (f *clusterFixture) scrapeFor(t *testing.T, node string, want ...string) string {
	t.Helper()
	var body string
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		body = f.scrape(t, node)
		for _, w := range want {
			if !strings.Contains(body, w+"\n") {
				return fmt.Errorf("no %q in node %s's scrape:\n%s", w, node, grep(body, "cloister_cluster_"))
			}
		}
		return nil
	})
	return body
}

// value is the value of the series named by series (name{labels}).
func value(t *testing.T, body, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in the scrape:\n%s", series, grep(body, "cloister_cluster_"))
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMetrics_Cluster reads the cluster series of two nodes from real
// scrapes: traffic each way, the monitors, links, exports and pending
// requests across them, then the loss of one node.
func TestMetrics_Cluster(t *testing.T) {
	f := startCluster(t)
	a, b := f.Nodes["a"], f.Nodes["b"]
	const n = 40
	var ok bool
	testnode.Call(t, a, "front", map[string]any{"type": "fwd", "n": n}, &ok)
	testnode.Call(t, a, "front", map[string]any{"type": "watch"}, &ok)
	testnode.Call(t, a, "front", map[string]any{"type": "give"}, &ok)
	testnode.Send(t, a, "front", map[string]any{"type": "hang"}) // awaits sink's answer for good
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		var seen int
		testnode.Call(t, b, "back", map[string]any{"type": "seen"}, &seen)
		if seen != n {
			return fmt.Errorf("back saw %d of %d", seen, n)
		}
		return nil
	})

	bodyA := f.scrapeFor(t, "a",
		`cloister_cluster_peers_up 1`,
		`cloister_cluster_peer_up{peer="b"} 1`,
		`cloister_cluster_peer_up{peer="c"} 0`,
		`cloister_cluster_pending_requests{peer="b"} 1`,
		`cloister_cluster_monitors{peer="b",side="watching"} 1`,
		`cloister_cluster_monitors{peer="b",side="watched"} 1`,
		`cloister_cluster_links{peer="b"} 1`,
		`cloister_cluster_exported_capabilities 1`,
		`cloister_cluster_peer_losses_total{peer="b"} 0`,
		`cloister_cluster_drops_total{cause="malformed"} 0`,
		`cloister_cluster_send_refusals_total{cause="backpressure"} 0`,
		`cloister_cluster_window_stalls_total{peer="b"} 0`,
		`cloister_cluster_queued_frames{peer="b"} 0`,
	)
	// fwd's n sends, a monitor, a link, the keep, the call: each a frame
	if out := value(t, bodyA, `cloister_cluster_frames_out_total{peer="b"}`); out < n+4 {
		t.Errorf("a sent %v frames to b, want at least %d", out, n+4)
	}
	bodyB := f.scrapeFor(t, "b",
		`cloister_cluster_peers_up 1`,
		`cloister_cluster_peer_up{peer="a"} 1`,
		`cloister_cluster_monitors{peer="a",side="watching"} 1`,
		`cloister_cluster_monitors{peer="a",side="watched"} 1`,
		`cloister_cluster_links{peer="a"} 1`,
		`cloister_cluster_exported_capabilities 0`,
		`cloister_cluster_pending_requests{peer="a"} 0`,
	)
	// What a sent, b received: the same frames and bytes, once both
	// sides are quiet (b's monitor frame may still be on its way).
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		bodyA, bodyB = f.scrape(t, "a"), f.scrape(t, "b")
		for _, dir := range [][2]string{{"out", "in"}, {"in", "out"}} {
			for _, what := range []string{"frames", "bytes"} {
				sent := value(t, bodyA, `cloister_cluster_`+what+`_`+dir[0]+`_total{peer="b"}`)
				got := value(t, bodyB, `cloister_cluster_`+what+`_`+dir[1]+`_total{peer="a"}`)
				if sent != got || sent == 0 {
					return fmt.Errorf("%s: a %s %v, b %s %v", what, dir[0], sent, dir[1], got)
				}
			}
		}
		return nil
	})
	promtoolCheck(t, bodyA)
	promtoolCheck(t, bodyB)

	// b leaves: a loses it, and everything held with it goes.
	if err := f.Transports["b"].Close(); err != nil {
		t.Fatal(err)
	}
	f.scrapeFor(t, "a",
		`cloister_cluster_peers_up 0`,
		`cloister_cluster_peer_up{peer="b"} 0`,
		`cloister_cluster_peer_losses_total{peer="b"} 1`,
		`cloister_cluster_pending_requests{peer="b"} 0`,
		`cloister_cluster_monitors{peer="b",side="watching"} 0`,
		`cloister_cluster_monitors{peer="b",side="watched"} 0`,
		`cloister_cluster_links{peer="b"} 0`,
	)
}

// A node that is not clustered exports no cluster series.
func TestMetrics_NoClusterNoClusterSeries(t *testing.T) {
	f := start(t)
	if body := f.scrape(t); strings.Contains(body, "\ncloister_cluster_") {
		t.Errorf("an unclustered node has cluster series:\n%s", grep(body, "cloister_cluster_"))
	}
}

// manyPeers is a transport that has heard from peers node names, as a
// cluster of that many nodes, or a hostile dev cluster, would have it.
type manyPeers struct{ peers int }

func (m manyPeers) Self() string                    { return "self" }
func (m manyPeers) Incarnation() uint64             { return 1 }
func (m manyPeers) Send(string, *wire.Frame) error  { return wire.ErrNoConnection }
func (m manyPeers) Peer(name string) (uint64, bool) { return 7, true }
func (m manyPeers) Stats() cluster.Stats            { return cluster.Stats{PeersUp: m.peers} }
func (m manyPeers) name(i int) string               { return fmt.Sprintf("p%03d", i) }
func (m manyPeers) PeerStats() (out []cluster.PeerStats) {
	for i := range m.peers {
		out = append(out, cluster.PeerStats{Name: m.name(i), Incarnation: 7, Up: true, FramesOut: 10, Losses: 1})
	}
	return out
}

// Past 64 peers, the rest share peer="*", their figures summed; the
// scrape stays valid.
func TestMetrics_ClusterPeerLabelsAreBounded(t *testing.T) {
	const peers = 70
	node := testnode.New(t, actor.Options{Cluster: manyPeers{peers: peers}})
	srv := httptest.NewServer(metrics.New(node).Handler())
	t.Cleanup(srv.Close)
	f := &fixture{node: node, srv: srv}
	body := f.scrape(t)
	labels := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^cloister_cluster_frames_out_total\{peer="([^"]*)"\}`).FindAllStringSubmatch(body, -1) {
		labels[m[1]] = true
	}
	if len(labels) != 65 || !labels["*"] || !labels["p000"] {
		t.Fatalf("%d peer labels: %v", len(labels), labels)
	}
	for series, want := range map[string]float64{
		`cloister_cluster_frames_out_total{peer="*"}`:    10 * (peers - 64),
		`cloister_cluster_peer_losses_total{peer="*"}`:   peers - 64,
		`cloister_cluster_peer_up{peer="*"}`:             peers - 64,
		`cloister_cluster_peer_up{peer="p063"}`:          1,
		`cloister_cluster_frames_out_total{peer="p000"}`: 10,
		`cloister_cluster_peers_up`:                      peers,
	} {
		if got := value(t, body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	promtoolCheck(t, body)
}
