package manifest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cloister-rt/cloister/manifest"
)

func FuzzManifest_Parse(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*/app.yaml")
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, src := range []string{
		"",
		"root:\n",
		"root:\n  strategy: one_for_one\n",
		head + workerA,
		head + workerA + "      scirpt: b.js\n",
		head + workerA + "      limits: {cpu: 5ms, memory: 64XB, stack: -1, mailbox: 1000000000000}\n",
		head + workerA + "      shutdown: -1s\n",
		head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a, rights: [send, fly]}\n",
		head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: nowhere, rights: [send]}\n",
		head + "    - name: pool\n      strategy: one_for_one\n      template: {script: w.js}\n",
		head + workerA + "      limits: &small {cpu: 10ms}\n    - name: b\n      script: a.js\n      limits: {<<: *small, stack: 200}\n",
		head + workerA + "      args: &x [1, *x]\n",
		head + workerA + "      args: {a: [1, {b: null}], c: 2.5}\n",
		head + "    - &c0 {name: c0, script: a.js}\n    - &c1 {name: c1, strategy: one_for_one, children: [*c0, *c0]}\n    - {name: c2, strategy: one_for_one, children: [*c1, *c1]}\n",
		"- a\n- b\n",
		"root: [\n",
		"{root: {strategy: rest_for_one, children: [{name: a, script: a.js}]}}",
		head + workerA + "---\nroot:\n",
		"root: &r\n  strategy: one_for_one\n  children:\n    - *r\n",
		"? [a]\n: b\n",
		"<<: {root: {strategy: one_for_one}}\n",
		clusterTree,
		clusterTree + "http:\n  node: b\n  listen: 127.0.0.1:0\n  routes:\n    - {pattern: /c, to: counter}\n",
		"cluster: {nodes: [a, 'b.c', '>'], nats: 'nats://u:p@h:1/x'}\n" + head + "    - {name: w, node: a, script: w.js}\n",
		"cluster: {nodes: [a], tls: {cert: '{node}{x}', key: k}, heartbeat: 1ms, dead_after: 1ms}\n" + head + "    - {name: w, node: z, script: w.js, template: {node: a}}\n",
		"data_dir: '{node}'\n" + head + "    - {name: w, node: a, script: w.js}\n",
	} {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Parse(data)
		if (m == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one of a manifest and an error", m, err)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		_ = m.Limits()
	})
}
