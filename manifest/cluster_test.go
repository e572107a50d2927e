package manifest_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/manifest"
)

// clusterHead is a cluster of three nodes on lines 1 to 10; the root's
// children start on line 14.
const clusterHead = `cluster:
  nodes: [a, b, c]
  nats: [nats://127.0.0.1:4222, tls://nats.internal:4443]
  prefix: acme
  heartbeat: 100ms
  dead_after: 1s
  tls:
    cert: certs/{node}.crt
    key: certs/{node}.key
    ca: certs/ca.crt
root:
  strategy: one_for_one
  children:
`

// clusterTree places a front on a, a counter on b and a pool on c; the
// front holds grants over processes on the other two nodes.
const clusterTree = clusterHead + `    - name: front
      node: a
      script: w.js
      grants:
        counter: {to: counter, rights: [send, monitor, link]}
        pool: {to: pool, rights: [spawn]}
    - name: counter
      node: b
      script: w.js
      storage: true
    - name: pool
      node: c
      strategy: one_for_one
      template: {script: w.js, storage: true}
`

func TestCluster_Parse(t *testing.T) {
	m, err := manifest.Parse([]byte(clusterTree))
	if err != nil {
		t.Fatal(err)
	}
	c := m.Cluster
	if c == nil {
		t.Fatal("no cluster section")
	}
	if got, want := strings.Join(c.Nodes, ","), "a,b,c"; got != want {
		t.Errorf("nodes %s, want %s", got, want)
	}
	if got, want := strings.Join(c.NATS, " "), "nats://127.0.0.1:4222 tls://nats.internal:4443"; got != want {
		t.Errorf("nats %s, want %s", got, want)
	}
	if c.Prefix != "acme" || c.Heartbeat.D != 100*time.Millisecond || c.DeadAfter.D != time.Second {
		t.Errorf("prefix %q heartbeat %v dead_after %v", c.Prefix, c.Heartbeat.D, c.DeadAfter.D)
	}
	if c.TLS == nil || c.TLS.Cert != "certs/{node}.crt" || c.TLS.Key != "certs/{node}.key" || c.TLS.CA != "certs/ca.crt" {
		t.Errorf("tls %+v", c.TLS)
	}
	for i, want := range []string{"a", "b", "c"} {
		if got := m.Root.Children[i].Node; got != want {
			t.Errorf("%s: node %q, want %q", m.Root.Children[i].Name, got, want)
		}
	}
}

func TestCluster_OneURL(t *testing.T) {
	m, err := manifest.Parse([]byte("cluster: {nodes: [solo], nats: nats://localhost:4222}\n" + head + "    - {name: w, node: solo, script: w.js}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Cluster.NATS; len(got) != 1 || got[0] != "nats://localhost:4222" {
		t.Errorf("nats %q, want the one URL", got)
	}
	if m.Cluster.TLS != nil {
		t.Errorf("tls %+v, want none", m.Cluster.TLS)
	}
}

func TestCluster_App(t *testing.T) {
	dir := writeFiles(t, map[string]string{"w.js": okJS, "app.yaml": clusterTree})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range app.Root.Children {
		if ch.Node == "" {
			t.Errorf("%s: the spec lost its node", ch.Name)
		}
	}
	c := app.Cluster
	if c == nil {
		t.Fatal("App.Cluster is nil")
	}
	cert, key, ca := c.TLSFiles("b")
	if want := filepath.Join(dir, "certs", "b.crt"); cert != want {
		t.Errorf("cert %s, want %s", cert, want)
	}
	if want := filepath.Join(dir, "certs", "b.key"); key != want {
		t.Errorf("key %s, want %s", key, want)
	}
	if want := filepath.Join(dir, "certs", "ca.crt"); ca != want {
		t.Errorf("ca %s, want %s", ca, want)
	}
	for path, want := range map[string]string{"front": "a", "counter": "b", "pool": "c", "pool/7": "c", "nobody": ""} {
		if got := app.NodeOf(path); got != want {
			t.Errorf("NodeOf(%q) = %q, want %q", path, got, want)
		}
	}

	for node, storage := range map[string]bool{"a": false, "b": true, "c": true} {
		v, err := app.ForNode(node)
		if err != nil {
			t.Fatal(err)
		}
		if v.Node != node || v.Storage != storage {
			t.Errorf("ForNode(%s): node %q storage %v, want storage %v", node, v.Node, v.Storage, storage)
		}
		if want := filepath.Join(dir, manifest.DefaultDataDir, node); v.DataDir != want {
			t.Errorf("ForNode(%s): data dir %s, want %s", node, v.DataDir, want)
		}
		if len(v.Root.Children) != 3 {
			t.Errorf("ForNode(%s): %d children of the root, want the whole tree", node, len(v.Root.Children))
		}
	}
	if _, err := app.ForNode("d"); err == nil || !strings.Contains(err.Error(), `"d" is not a node`) {
		t.Errorf("ForNode(d) = %v, want a refusal naming d", err)
	}
	if app.Storage != true || app.DataDir != filepath.Join(dir, manifest.DefaultDataDir) {
		t.Errorf("the whole app: storage %v data dir %s", app.Storage, app.DataDir)
	}
}

func TestCluster_DataDirPerNode(t *testing.T) {
	dir := writeFiles(t, map[string]string{"w.js": okJS, "app.yaml": "data_dir: /var/lib/app-{node}\n" + clusterTree})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := app.ForNode("c")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.DataDir, "/var/lib/app-c"; got != want {
		t.Errorf("data dir %s, want %s", got, want)
	}
}

func TestCluster_Unclustered(t *testing.T) {
	dir := writeFiles(t, map[string]string{"w.js": okJS, "app.yaml": head + "    - {name: w, script: w.js}\n"})
	app, err := manifest.Open(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if app.Cluster != nil || app.NodeOf("w") != "" || app.Root.Children[0].Node != "" {
		t.Errorf("a manifest without cluster: cluster %+v, node of w %q", app.Cluster, app.NodeOf("w"))
	}
	if _, err := app.ForNode("a"); err == nil || !strings.Contains(err.Error(), "no cluster: section") {
		t.Errorf("ForNode on an unclustered app = %v", err)
	}
}

func TestCluster_Gateway(t *testing.T) {
	const routes = "http:\n  listen: 127.0.0.1:0\n  routes:\n    - {pattern: /c, to: counter}\n"
	dir := writeFiles(t, map[string]string{
		"w.js":          okJS,
		"inferred.yaml": clusterTree + routes,
		"named.yaml":    clusterTree + routes + "  node: b\n",
	})
	for _, file := range []string{"inferred.yaml", "named.yaml"} {
		app, err := manifest.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := app.NodeOf(manifest.HTTPChild); got != "b" {
			t.Errorf("%s: the gateway runs on %q, want b (the counter's node)", file, got)
		}
		for node, serves := range map[string]bool{"a": false, "b": true, "c": false} {
			v, err := app.ForNode(node)
			if err != nil {
				t.Fatal(err)
			}
			if (v.HTTP != nil) != serves {
				t.Errorf("%s: node %s has gateway %v, want %v", file, node, v.HTTP != nil, serves)
			}
			if v.Options().Receivers == nil {
				t.Errorf("%s: node %s lost the gateway's receiver", file, node)
			}
		}
	}
}

func TestCluster_Errors(t *testing.T) {
	// tree is the three children of clusterTree on lines 14 to 27.
	tree := strings.TrimPrefix(clusterTree, clusterHead)
	section := func(body string) string {
		return "cluster:\n" + body + "root:\n  strategy: one_for_one\n  children:\n" + tree
	}
	cases := []struct {
		name, src string
		want      []string
	}{
		// The section.
		{"unknown field", section("  nodes: [a, b, c]\n  peers: [x]\n"), []string{"line 3", "cluster: ", `unknown field "peers"`}},
		{"no nodes", section("  nats: nats://127.0.0.1:4222\n"), []string{"line 2", "cluster: nodes: name at least one node"}},
		{"nodes not a list", section("  nodes: a\n"), []string{"line 2", "cluster: nodes: "}},
		{"a node with a dot", section("  nodes: [a, b.c]\n"), []string{"line 2", `node name "b.c"`, "no dots, wildcards or spaces"}},
		{"a wildcard node", section("  nodes: [a, '*']\n"), []string{"line 2", `node name "*"`}},
		{"a full wildcard node", section("  nodes: [a, '>']\n"), []string{"line 2", `node name ">"`}},
		{"a node with a space", section("  nodes: [a, 'b c']\n"), []string{"line 2", `node name "b c"`}},
		{"an empty node name", section("  nodes: [a, '']\n"), []string{"line 2", `node name ""`}},
		{"a long node name", section("  nodes: [" + strings.Repeat("n", 65) + "]\n"), []string{"line 2", "1 to 64 letters"}},
		{"a node twice", section("  nodes: [a, b, a]\n"), []string{"line 2", `nodes: "a" is listed twice`}},
		{"too many nodes", section("  nodes: [" + manyNodes(257) + "]\n"), []string{"line 2", "257 nodes, over the limit of 256"}},
		{"nats not a URL list", section("  nodes: [a, b, c]\n  nats: {x: 1}\n"), []string{"line 3", "cluster: nats: a URL or a list of URLs"}},
		{"nats with another scheme", section("  nodes: [a, b, c]\n  nats: http://127.0.0.1:4222\n"), []string{"line 2", "nats: ", "want a nats://, tls://, ws:// or wss:// URL"}},
		{"nats without a host", section("  nodes: [a, b, c]\n  nats: 'nats://:4222'\n"), []string{"nats: ", "has no host"}},
		{"nats with credentials", section("  nodes: [a, b, c]\n  nats: nats://me:secret@127.0.0.1:4222\n"), []string{"nats: ", "holds credentials", "certificates"}},
		{"nats with a path", section("  nodes: [a, b, c]\n  nats: nats://127.0.0.1:4222/x\n"), []string{"nats: ", "scheme, host and port only"}},
		{"nats beyond loopback without tls", section("  nodes: [a, b, c]\n  nats: nats://10.0.0.5:4222\n"), []string{"line 2", "not a loopback address", "add tls"}},
		{"a dotted prefix", section("  nodes: [a, b, c]\n  prefix: acme.x\n"), []string{"line 2", `prefix "acme.x"`, "one NATS subject token"}},
		{"a wildcard prefix", section("  nodes: [a, b, c]\n  prefix: acme.*\n"), []string{"line 2", `prefix "acme.*"`}},
		{"a fast heartbeat", section("  nodes: [a, b, c]\n  heartbeat: 1ms\n"), []string{"line 2", "heartbeat: 1ms is out of range"}},
		{"a slow heartbeat", section("  nodes: [a, b, c]\n  heartbeat: 1m\n"), []string{"line 2", "heartbeat: 1m0s is out of range"}},
		{"dead_after under two heartbeats", section("  nodes: [a, b, c]\n  heartbeat: 500ms\n  dead_after: 600ms\n"), []string{"line 2", "dead_after: 600ms is out of range"}},
		{"dead_after not a duration", section("  nodes: [a, b, c]\n  dead_after: soon\n"), []string{"line 3", "cluster: dead_after: ", `"soon" is not a positive duration`}},
		{"tls without a key", section("  nodes: [a, b, c]\n  tls: {cert: '{node}.crt', ca: ca.crt}\n"), []string{"line 3", "cluster: tls: needs cert, key and ca"}},
		{"tls with an unknown field", section("  nodes: [a, b, c]\n  tls: {cert: c, key: k, ca: ca, pass: x}\n"), []string{"line 3", "cluster: tls: ", `unknown field "pass"`}},
		{"tls with a typo in the placeholder", section("  nodes: [a, b, c]\n  tls: {cert: '{name}.crt', key: '{node}.key', ca: ca.crt}\n"), []string{"line 3", "tls: cert: ", "{name} is not a placeholder"}},
		{"one certificate for every node", section("  nodes: [a, b, c]\n  tls: {cert: node.crt, key: '{node}.key', ca: ca.crt}\n"), []string{"line 3", "give each node its own certificate", "{node}"}},

		// Placement.
		{"a child without a node", clusterHead + "    - {name: w, script: w.js}\n", []string{"line 14", "w: needs node: one of a, b, c"}},
		{"a node not in the cluster", clusterHead + "    - name: w\n      node: d\n      script: w.js\n", []string{"line 15", `w: node: "d" is not a node of the cluster (a, b, c)`}},
		{"a node below the root's children", clusterHead + "    - name: s\n      node: a\n      strategy: one_for_one\n      children:\n        - name: w\n          node: b\n          script: w.js\n",
			[]string{"line 19", "s/w: node: only a child of the root is placed"}},
		{"a node on a template", clusterHead + "    - name: pool\n      node: a\n      strategy: one_for_one\n      template: {script: w.js, node: b}\n",
			[]string{"line 17", "pool: template: node: a template supervisor spawns its children on its own node"}},
		{"a node on the root", strings.Replace(clusterHead, "  strategy: one_for_one\n", "  strategy: one_for_one\n  node: a\n", 1) + tree, []string{"line 13", "root: node: the root runs on every node"}},
		{"a template on a clustered root", strings.Replace(clusterHead, "  children:\n", "  template: {script: w.js}\n", 1), []string{"line 13", "a clustered root has children placed on nodes, not a template"}},
		{"a node without a cluster", head + "    - name: w\n      node: a\n      script: w.js\n", []string{"line 5", `w: node: "a" names a cluster node, but the manifest has no cluster: section`}},
		{"a nested node without a cluster", head + "    - name: s\n      strategy: one_for_one\n      children:\n        - {name: w, node: a, script: w.js}\n", []string{"line 7", `s/w: node: "a"`, "no cluster: section"}},
		{"data_dir with {node} without a cluster", "data_dir: data/{node}\n" + head + workerA, []string{"line 1", "data_dir: {node} stands for a cluster node"}},
		{"data_dir with another placeholder", "data_dir: data/{host}\n" + clusterTree, []string{"line 1", "data_dir: ", "{host} is not a placeholder"}},

		// The gateway.
		{"routes on two nodes", clusterTree + "http:\n  listen: 127.0.0.1:0\n  routes:\n    - {pattern: /f, to: front}\n    - {pattern: /c, to: counter}\n",
			[]string{"line 32", `route "/c": to: "counter" runs on node b and the gateway on node a`, "own node only"}},
		{"a gateway node away from its routes", clusterTree + "http:\n  node: c\n  listen: 127.0.0.1:0\n  routes:\n    - {pattern: /f, to: front}\n",
			[]string{"line 32", `to: "front" runs on node a and the gateway on node c`}},
		{"a gateway node not in the cluster", clusterTree + "http:\n  node: z\n  listen: 127.0.0.1:0\n  routes:\n    - {pattern: /f, to: front}\n",
			[]string{"line 29", `http: node: "z" is not a node of the cluster`}},
		{"a gateway node without a cluster", head + "    - {name: w, script: w.js}\nhttp:\n  node: a\n  listen: 127.0.0.1:0\n  routes:\n    - {pattern: /f, to: w}\n",
			[]string{"line 6", `http: node: "a" names a cluster node, but the manifest has no cluster: section`}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.src)
			}
			if m != nil {
				t.Error("Parse returned a manifest with its error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func manyNodes(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i)
	}
	return strings.Join(names, ", ")
}

func TestCluster_Accepts(t *testing.T) {
	for _, tt := range []struct{ name, src string }{
		{"one node, no URLs", "cluster: {nodes: [only]}\n" + head + "    - {name: w, node: only, script: w.js}\n"},
		{"one node shares its certificate path", "cluster:\n  nodes: [only]\n  nats: tls://nats.example.com:4222\n  tls: {cert: node.crt, key: node.key, ca: ca.crt}\n" + head + "    - {name: w, node: only, script: w.js}\n"},
		{"ws URLs and names with - and _", "cluster:\n  nodes: [eu-1, us_2]\n  nats: [ws://localhost:8080, 'nats://[::1]:4222']\n" + head + "    - {name: w, node: eu-1, script: w.js}\n    - {name: v, node: us_2, script: w.js}\n"},
		{"a node from a merge key", "cluster: {nodes: [a, b]}\n" + head + "    - &w {name: w, node: a, script: w.js}\n    - {<<: *w, name: v}\n"},
		{"dead_after with the default heartbeat", "cluster: {nodes: [a], dead_after: 2s}\n" + head + "    - {name: w, node: a, script: w.js}\n"},
		{"grants across nodes from a template", clusterHead + "    - {name: w, node: a, script: w.js}\n    - name: pool\n      node: b\n      strategy: one_for_one\n      template: {script: w.js, grants: {w: {to: w, rights: [send]}}}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := manifest.Parse([]byte(tt.src)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestCluster_CheckNATSURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"nats://127.0.0.1:4222": true, "tls://n.example.com": true, "wss://n.example.com/": true,
		"nats://u:p@h:1": false, "h:4222": false, "": false, "nats://": false, "nats://h:1?x=1": false,
	} {
		if err := manifest.CheckNATSURL(u); (err == nil) != ok {
			t.Errorf("CheckNATSURL(%q) = %v, want ok %v", u, err, ok)
		}
	}
	if err := manifest.CheckNATSURL("nats://me:hunter2@h:1"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a refused URL shows its password: %v", err)
	}
}
