package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/manifest"
)

// The cluster flags are checked against the manifest before anything
// starts, and every refusal says what to do.
func TestRun_ClusterFlagRefusals(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "w.js", "export function receive(m) { return m; }\n")
	plain := writeFile(t, dir, "plain.yaml", "root:\n  strategy: one_for_one\n  children:\n    - {name: w, script: w.js}\n")
	const tree = "root:\n  strategy: one_for_one\n  children:\n    - {name: w, node: a, script: w.js}\n"
	loop := writeFile(t, dir, "loop.yaml", "cluster: {nodes: [a, b], nats: nats://127.0.0.1:4222}\n"+tree)
	bare := writeFile(t, dir, "bare.yaml", "cluster: {nodes: [a, b]}\n"+tree)
	tls := writeFile(t, dir, "tls.yaml", "cluster:\n  nodes: [a, b]\n  nats: nats://127.0.0.1:4222\n  tls: {cert: 'gone/{node}.pem', key: 'gone/{node}-key.pem', ca: gone/ca.pem}\n"+tree)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"--node without a cluster":      {[]string{"run", "--node", "a", plain}, "need a manifest with a cluster: section"},
		"--nats without a cluster":      {[]string{"run", "--nats", "nats://127.0.0.1:1", plain}, "need a manifest with a cluster: section"},
		"a cluster without --node":      {[]string{"run", loop}, "nodes a, b: give --node NAME"},
		"a node the cluster lacks":      {[]string{"run", "--node", "z", loop}, `"z" is not a node`},
		"a bad --nats URL":              {[]string{"run", "--node", "a", "--nats", "http://x:1", loop}, "--nats: "},
		"a remote --nats without tls":   {[]string{"run", "--node", "a", "--nats", "nats://10.1.2.3:4222", loop}, "only loopback NATS servers"},
		"no NATS at all":                {[]string{"run", "--node", "a", bare}, "no NATS server"},
		"a bad --nats-embed":            {[]string{"run", "--node", "a", "--nats-embed", "nowhere", bare}, "--nats-embed"},
		"an open --nats-embed":          {[]string{"run", "--node", "a", "--nats-embed", "0.0.0.0:4222", bare}, "loopback address"},
		"dev with a clustered manifest": {[]string{"dev", loop}, "cloister run --node"},
		"no certificate":                {[]string{"run", "--node", "b", tls}, "gone/b.pem"},
		"no server certificate":         {[]string{"run", "--node", "a", "--nats-embed", "127.0.0.1:0", tls}, "gone/server.pem"},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestClusterCerts(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"cluster", "certs", "--manifest", "../../examples/cluster/app.yaml", "--listen", "127.0.0.1:14222", dir}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.pem", "server.pem", "server-key.pem", "node-a.pem", "node-a-key.pem", "node-b.pem", "node-c-key.pem", "nats-server.conf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("cluster certs did not write %s: %v", f, err)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, "nats-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"127.0.0.1:14222"`, "verify_and_map: true", `"CN=b"`, `"cloister.f.*.b"`, `"cloister.f.b.*"`, `"cloister.hb.*"`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("nats-server.conf lacks %s:\n%s", want, conf)
		}
	}
	// The manifest's tls paths name what was written.
	m, err := manifest.Load("../../examples/cluster/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{m.Cluster.TLS.Cert, m.Cluster.TLS.Key, m.Cluster.TLS.CA} {
		name := strings.ReplaceAll(filepath.Base(p), manifest.NodePlaceholder, "a")
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the example's tls path %s names no file cluster certs writes: %v", p, err)
		}
	}

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no nodes":           {[]string{"cluster", "certs", dir}, "--manifest or --nodes"},
		"both":               {[]string{"cluster", "certs", "--nodes", "a", "--manifest", "x.yaml", dir}, "not both"},
		"a bad node name":    {[]string{"cluster", "certs", "--nodes", "a,b.c", dir}, "b.c"},
		"a node twice":       {[]string{"cluster", "certs", "--nodes", "a,b,a", dir}, `"a" is listed twice`},
		"no directory":       {[]string{"cluster", "certs", "--nodes", "a"}, "one directory"},
		"an unknown command": {[]string{"cluster", "join"}, `unknown cluster command "join"`},
		"a CA already there": {[]string{"cluster", "certs", "--nodes", "a", dir}, "already holds a CA"},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
