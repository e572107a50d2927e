package debughttp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/internal/testkit/testcluster"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/supervisor"
)

// caller, on node a, monitors and links to worker, on node b, and sends
// it messages.
const clusterCallerJS = `
export function init(args, ctx) { ctx.trapExits(true); }
export function receive(msg, ctx) {
  if (ctx.isNotification(msg)) return;
  if (msg.type === "watch") { ctx.env.w.monitor(); ctx.env.w.link(); return true; }
  if (msg.type === "fwd") { for (let i = 0; i < msg.n; i++) ctx.env.w.send(i); return true; }
}`

// startCluster runs nodes a and b with the endpoint in front of each.
func startCluster(t *testing.T, cfg debughttp.Config) (*testcluster.Cluster, map[string]*fixture) {
	t.Helper()
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second), Children: []actor.ChildSpec{
		{Name: "caller", Node: "a", Script: testnode.Script(t, "caller.js", []byte(clusterCallerJS)), Grants: []actor.GrantSpec{
			{Name: "w", To: "worker", Rights: capability.Send | capability.Monitor | capability.Link},
		}},
		{Name: "worker", Node: "b", Script: script(t, "plain.js")},
	}}
	fs := make(map[string]*fixture)
	c := testcluster.Start(t, root, func(name string, n *actor.Node) {
		cfg := cfg
		cfg.Node = n
		f := &fixture{node: n, srv: httptest.NewServer(debughttp.Handler(cfg))}
		t.Cleanup(f.srv.Close)
		fs[name] = f
	}, "a", "b")
	return c, fs
}

// TestCluster_View: GET /debug/cluster shows each node, its peer, what is
// held across them and the transport's counts; a lost peer shows down.
func TestCluster_View(t *testing.T) {
	c, fs := startCluster(t, debughttp.Config{Token: token})
	a := fs["a"]
	var ok bool
	const n = 30
	testnode.Call(t, a.node, "caller", map[string]any{"type": "watch"}, &ok)
	testnode.Call(t, a.node, "caller", map[string]any{"type": "fwd", "n": n}, &ok)

	var v debughttp.Cluster
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		v = debughttp.Cluster{}
		a.getJSON(t, "/debug/cluster", &v)
		if len(v.Peers) != 1 {
			return fmt.Errorf("peers %+v", v.Peers)
		}
		if p := v.Peers[0]; p.Monitors != 1 || p.Links != 1 || p.FramesOut < n+2 {
			return fmt.Errorf("a's view of b: %+v", p)
		}
		return nil
	})
	p := v.Peers[0]
	if v.Node != "a" || v.Incarnation != strconv.FormatUint(c.Transports["a"].Incarnation(), 16) || v.PeersUp != 1 {
		t.Errorf("node %q incarnation %s, %d up", v.Node, v.Incarnation, v.PeersUp)
	}
	if p.Name != "b" || !p.Up || p.Incarnation != strconv.FormatUint(c.Transports["b"].Incarnation(), 16) || p.Pending != 0 || p.State != 2 || p.Losses != 0 {
		t.Errorf("a's view of b: %+v", p)
	}
	if v.Transport == nil || v.Transport.FramesOut != p.FramesOut || v.Transport.Drops["malformed"] != 0 || v.ExportLimit <= 0 || v.PeerStateLimit <= 0 {
		t.Errorf("transport %+v", v.Transport)
	}
	var vb debughttp.Cluster
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		vb = debughttp.Cluster{}
		fs["b"].getJSON(t, "/debug/cluster", &vb)
		if len(vb.Peers) != 1 || vb.Peers[0].Watched != 1 || vb.Peers[0].Links != 1 || vb.Peers[0].FramesIn != p.FramesOut {
			return fmt.Errorf("b's view of a: %+v; a sent %d frames", vb.Peers, p.FramesOut)
		}
		return nil
	})

	// b leaves: a shows it down, counts the loss, and holds nothing with it.
	if err := c.Transports["b"].Close(); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		v = debughttp.Cluster{}
		a.getJSON(t, "/debug/cluster", &v)
		if p := v.Peers[0]; p.Up || p.Losses != 1 || p.Monitors != 0 || p.Links != 0 || p.State != 0 || v.PeersUp != 0 {
			return fmt.Errorf("a's view of b after it left: %+v", p)
		}
		return nil
	})
}

// TestCluster_Guards: the route follows the rules of the other data
// routes (token when private, Host header), and a node that is not
// clustered answers 404.
func TestCluster_Guards(t *testing.T) {
	_, fs := startCluster(t, debughttp.Config{Token: token, Private: true})
	a := fs["a"]
	if code, _ := a.do(t, http.MethodGet, "/debug/cluster", ""); code != http.StatusUnauthorized {
		t.Errorf("private, without the token: %d, want 401", code)
	}
	if code, body := a.do(t, http.MethodGet, "/debug/cluster", token); code != http.StatusOK {
		t.Errorf("private, with the token: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/debug/cluster", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Host = "rebound.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("as rebound.example: %d, want 421", resp.StatusCode)
	}
	if code, _ := a.do(t, http.MethodPost, "/debug/cluster", token); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", code)
	}

	solo := start(t, debughttp.Config{Token: token})
	code, body := solo.do(t, http.MethodGet, "/debug/cluster", "")
	var pb struct{ Error string }
	if code != http.StatusNotFound || json.Unmarshal([]byte(body), &pb) != nil || pb.Error != "this node is not clustered" {
		t.Errorf("a node that is not clustered: %d %s", code, body)
	}
}
