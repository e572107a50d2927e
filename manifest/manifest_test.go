package manifest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/manifest"

	"github.com/vmihailenco/msgpack/v5"
	"go.yaml.in/yaml/v3"
)

// head opens a manifest whose children start on line 4.
const head = "root:\n  strategy: one_for_one\n  children:\n"

// workerA is a worker on lines 4 and 5.
const workerA = "    - name: a\n      script: a.js\n"

// aliasBomb nests supervisors whose children lists alias the previous one
// twice: 40 lines that would stand for 2^40 children.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString(head + "    - &c0 {name: c0, script: a.js}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "    - &c%d {name: c%d, strategy: one_for_one, children: [*c%d, *c%d]}\n", i, i, i-1, i-1)
	}
	return b.String()
}

// laughs is the classic billion laughs, hidden in a worker's args.
func laughs() string {
	var b strings.Builder
	b.WriteString(head + workerA + "      args:\n        l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "        l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

// wideArgs gives a worker args with n keys.
func wideArgs(n int) string {
	var b strings.Builder
	b.WriteString(head + workerA + "      args: {")
	for i := range n {
		fmt.Fprintf(&b, "k%d: %d, ", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

func TestManifest_Parse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every one must appear in the error
	}{
		// Unknown fields, wherever they are.
		{"unknown field at the top", head + workerA + "roots: x\n", []string{"line 6", `unknown field "roots"`, "known: debug, defaults, root"}},
		{"unknown field in a named root", "root:\n  name: top\n  strategy: one_for_one\n  children:\n    - name: a\n      script: a.js\n      bogus: 1\n", []string{"line 7: a: ", `unknown field "bogus"`}},
		{"unknown field in root", "root:\n  strategy: one_for_one\n  stratgy: x\n", []string{"line 3", "root", `unknown field "stratgy"`}},
		{"unknown field in a child", head + workerA + "      scirpt: b.js\n", []string{"line 6", "a: ", `unknown field "scirpt"`}},
		{"unknown field in a nested child", head + "    - name: sup\n      strategy: one_for_all\n      children:\n        - name: w\n          script: w.js\n          shutdwn: 1s\n",
			[]string{"line 9", "sup/w: ", `unknown field "shutdwn"`}},
		{"unknown field in limits", head + workerA + "      limits: {cpu: 5ms, cpuu: 5ms}\n", []string{"line 6", "a: limits: ", `unknown field "cpuu"`}},
		{"unknown field in default limits", "defaults:\n  limits:\n    memroy: 5MiB\n" + head + workerA, []string{"line 3", "defaults: limits: ", `unknown field "memroy"`}},
		{"unknown field in defaults", "defaults:\n  limit: {}\n" + head + workerA, []string{"line 2", "defaults: ", `unknown field "limit"`}},
		{"unknown field in a grant", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a, rights: [send], right: [kill]}\n",
			[]string{"line 9", `b: grant "x": `, `unknown field "right"`}},
		{"field given twice", head + workerA + "      script: b.js\n", []string{"line 6", "a: ", `"script" is given twice (first on line 5)`}},

		// The tree's shape.
		{"duplicate child names", head + workerA + "    - name: a\n      script: b.js\n", []string{"line 6", `duplicate name "a"`, "first on line 4"}},
		{"script and strategy", head + workerA + "      strategy: one_for_one\n", []string{"line 4", "a: ", "either a script or a strategy"}},
		{"worker without script", head + "    - name: a\n      restart: permanent\n", []string{"line 4", "a: ", "needs a script or a strategy"}},
		{"child without name", head + "    - script: a.js\n", []string{"line 4", "root: ", "a child needs a name"}},
		{"empty child", head + "    -\n", []string{"line 4", "a child needs a name"}},
		{"child that is not a mapping", head + "    - counter.js\n", []string{"line 4", "child 1", "want a mapping", "counter.js"}},
		{"name that is not a string", head + "    - name: [a]\n      script: a.js\n", []string{"line 4", "name: want a string"}},
		{"name with a slash", head + "    - name: a/b\n      script: a.js\n", []string{"line 4", `name "a/b"`}},
		{"children that are not a list", "root:\n  strategy: one_for_one\n  children: {a: b}\n", []string{"line 3", "root: children: want a list"}},
		{"missing root", "debug: 127.0.0.1:9090\n", []string{"no root"}},
		{"root without strategy", "root:\n  children: []\n", []string{"line 2", "root: needs a strategy"}},
		{"null root", "root:\n", []string{"line 1", "root: needs a strategy"}},
		{"unknown strategy", "root:\n  strategy: one_for_al\n", []string{"line 2", "root: strategy: ", `"one_for_al" is not one_for_one, one_for_all or rest_for_one`}},
		{"unknown restart type", head + workerA + "      restart: always\n", []string{"line 6", "a: restart: ", `"always" is not permanent, transient or temporary`}},
		{"template with children", head + "    - name: pool\n      strategy: one_for_one\n      template: {script: w.js, restart: transient}\n      children: [{name: x, script: x.js}]\n", []string{"pool: ", "children or a template"}},
		{"template with a name", head + "    - name: pool\n      strategy: one_for_one\n      template: {name: w, script: w.js}\n", []string{"line 6", "pool: template", "no name"}},
		{"template supervisor", head + "    - name: pool\n      strategy: one_for_one\n      template: {strategy: one_for_one}\n", []string{"line 6", "pool: template", "must be a worker"}},
		{"template unknown field", head + "    - name: pool\n      strategy: one_for_one\n      template: {script: w.js, colour: red}\n", []string{"line 6", "colour"}},
		{"template bad grant", head + "    - name: pool\n      strategy: one_for_one\n      template: {script: w.js, grants: {x: {to: nowhere, rights: [send]}}}\n", []string{"nowhere"}},
		{"template on a worker", head + workerA + "      template: {script: w.js}\n", []string{"line 4", "a: ", "template", "belong to supervisors"}},
		{"intensity on a worker", head + workerA + "      intensity: 3\n", []string{"line 4", "a: ", "belong to supervisors"}},
		{"negative intensity", "root:\n  strategy: one_for_one\n  intensity: -1\n", []string{"line 2", "root: intensity: -1 is out of range"}},
		{"intensity that is not a number", "root:\n  strategy: one_for_one\n  intensity: lots\n", []string{"line 3", "root: intensity: ", "lots"}},

		// Durations and sizes.
		{"duration without unit", head + workerA + "      shutdown: 5\n", []string{"line 6", "a: shutdown: ", `"5" is not a positive duration`}},
		{"negative duration", head + workerA + "      shutdown: -1s\n", []string{"line 6", "a: shutdown: ", `"-1s" is not a positive duration`}},
		{"duration that is not one", head + workerA + "      shutdown: abc\n", []string{"line 6", "a: shutdown: ", `"abc" is not a positive duration`}},
		{"zero period", "root:\n  strategy: one_for_one\n  period: 0s\n", []string{"line 3", "root: period: ", `"0s" is not a positive duration`}},
		{"duration that is a list", head + workerA + "      shutdown: [1s]\n", []string{"line 6", "a: shutdown: "}},
		{"size with an unknown unit", head + workerA + "      limits:\n        memory: 64XB\n", []string{"line 7", "a: limits: memory: ", `"64XB" is not a size`}},
		{"negative size", head + workerA + "      limits:\n        memory: -5\n", []string{"line 7", "a: limits: memory: ", `"-5" is not a size`}},
		{"zero size", head + workerA + "      limits:\n        memory: 0\n", []string{"line 7", "a: limits: memory: ", `"0" is not a positive size`}},
		{"size over 1TiB", head + workerA + "      limits:\n        memory: 2048GiB\n", []string{"line 7", "a: limits: memory: ", "up to 1TiB"}},
		{"size past int64", head + workerA + "      limits:\n        memory: 99999999999999999999999\n", []string{"line 7", "a: limits: memory: "}},
		{"message_bytes over 64MiB", head + workerA + "      limits:\n        message_bytes: 65MiB\n", []string{"line 7", "a: limits: message_bytes: ", "over 64MiB"}},

		// Limits.
		{"negative stack", head + workerA + "      limits:\n        stack: -1\n", []string{"line 7", "a: limits: stack: -1 is out of range"}},
		{"absurd mailbox", head + workerA + "      limits:\n        mailbox: 1000000000000\n", []string{"line 7", "a: limits: mailbox: 1000000000000 is out of range"}},
		{"mailbox past int64", head + workerA + "      limits:\n        mailbox: 99999999999999999999999\n", []string{"line 7", "a: limits: mailbox: "}},
		{"negative timers", head + workerA + "      limits: {timers: -3}\n", []string{"line 6", "a: limits: timers: -3 is out of range"}},
		{"absurd children", "defaults:\n  limits: {children: 2000000}\n" + head + workerA, []string{"line 2", "defaults: limits: children: 2000000 is out of range"}},
		{"cpu over a minute", head + workerA + "      limits: {cpu: 2m}\n", []string{"line 6", "a: limits: cpu: 2m0s is out of range"}},
		{"limits that are not a mapping", head + workerA + "      limits: 5\n", []string{"line 6", "a: limits: want a mapping"}},

		// Grants.
		{"grant to an unknown path", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: c, rights: [send]}\n", []string{"line 9", `grant "x"`, `no process named "c"`}},
		{"grant to a path below a worker", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a/b, rights: [send]}\n", []string{"line 9", `grant "x"`, `no process named "a/b"`}},
		{"grant without to", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {rights: [send]}\n", []string{"line 9", `grant "x"`, `no process named ""`}},
		{"grant with an unknown right", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a, rights: [send, fly]}\n", []string{"line 9", `b: grant "x"`, `unknown right "fly"`}},
		{"grant with no rights", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a, rights: []}\n", []string{"line 9", `b: grant "x"`, "needs at least one right"}},
		{"grant without rights", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a}\n", []string{"line 9", `b: grant "x"`, "needs at least one right"}},
		{"grant with rights that are not a list", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a, rights: send}\n", []string{"line 9", `b: grant "x": rights: `}},
		{"grant given twice", head + workerA + "    - name: b\n      script: b.js\n      grants:\n        x: {to: a, rights: [send]}\n        x: {to: a, rights: [kill]}\n", []string{"line 10", `b: grants: "x" is given twice`}},
		{"grants on a supervisor", "root:\n  strategy: one_for_one\n  grants: {x: {to: a, rights: [send]}}\n  children:\n" + workerA, []string{"line 2", "root: a supervisor takes no grants"}},
		{"grants on a nested supervisor", head + workerA + "    - name: sup\n      strategy: one_for_one\n      grants: {x: {to: a, rights: [send]}}\n", []string{"line 6", "sup: a supervisor takes no grants"}},

		// Args.
		{"args with a key twice", head + workerA + "      args: {n: 1, n: 2}\n", []string{"line 6", "a: args: ", `"n" already defined`}},

		// Documents that are not manifests.
		{"empty file", "", []string{"the manifest is empty"}},
		{"only comments", "# nothing here\n", []string{"the manifest is empty"}},
		{"a list", "- root\n- strategy\n", []string{"line 1", "a manifest is a mapping", "got a list"}},
		{"a scalar", "hello\n", []string{"line 1", "a manifest is a mapping", `"hello"`}},
		{"two documents", head + workerA + "---\n" + head + workerA, []string{"line 6", "single YAML document"}},
		{"broken YAML", "root: [\n", []string{"line"}},
		{"tab indentation", "root:\n\tstrategy: one_for_one\n", []string{"line 2"}},
		{"alias bomb of children", aliasBomb(), []string{"line", "aliases are expanded"}},
		{"billion laughs in args", laughs(), []string{"line", "aliases are expanded"}},
		{"a mapping with too many keys", wideArgs(10_001), []string{"line 6", "10001 keys, over the limit of 10000"}},
		{"alias inside its own anchor", head + workerA + "      args: &x [1, *x]\n", []string{"line 6", "alias *x is inside the node it names"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.src)
			}
			if m != nil {
				t.Errorf("Parse returned a manifest with its error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if got := err.Error(); strings.Contains(got, "\n") {
				t.Errorf("error spans lines, want one clear line:\n%s", got)
			}
		})
	}
}

func TestManifest_ParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"minimal", "root:\n  strategy: one_for_one\n"},
		{"every field", `debug: 127.0.0.1:9090
defaults:
  limits: {cpu: 50ms, memory: 64MiB, stack: 1000, mailbox: 10000, message_bytes: 64KiB, timers: 10, children: 5}
root:
  name: top
  strategy: rest_for_one
  intensity: 0
  period: 1m
  shutdown: 10s
  restart: permanent
  children:
    - name: counter
      script: counter.js
      args: {start: 10}
      restart: transient
      shutdown: 2s
      limits: {cpu: 10ms, memory: 2097152, message_bytes: 1 MB}
      grants:
        self: {to: counter, rights: [send, monitor, link, exit, kill, inspect]}
        pool: {to: pool, rights: [spawn]}
    - name: pool
      strategy: one_for_all
      children: []
`},
		{"null sections", "defaults:\nroot:\n  strategy: one_for_one\n  children:\n"},
		{"name from a merge key", head + "    - &base {name: a, script: a.js}\n    - {<<: *base, name: b}\n"},
		{"a mapping with many keys", wideArgs(10_000)},
		{"anchors and merge keys", head + workerA + "      limits: &small {cpu: 10ms, stack: 100}\n    - name: b\n      script: b.js\n      limits: {<<: *small, stack: 200}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := manifest.Parse([]byte(tt.src)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

// writeFiles writes name -> contents under a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const okJS = "export function receive(msg) { return msg; }\n"

func TestManifest_Load(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.yaml": head + workerA + "      scirpt: b.js\n",
		"big.yaml": "# " + strings.Repeat("x", 1<<20) + "\n" + head + workerA,
		"ok.yaml":  head + workerA,
		"sub/keep": "",
	})
	tests := []struct {
		name string
		path string
		want []string
		is   error
	}{
		{"parse error names file and line", filepath.Join(dir, "bad.yaml"), []string{filepath.Join(dir, "bad.yaml"), "line 6", `unknown field "scirpt"`}, nil},
		{"over 1 MiB", filepath.Join(dir, "big.yaml"), []string{"big.yaml", "over the limit of 1048576 bytes"}, nil},
		{"a directory", filepath.Join(dir, "sub"), []string{"sub", "not a regular file"}, nil},
		{"missing file", filepath.Join(dir, "nope.yaml"), []string{"nope.yaml"}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Load(tt.path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded", tt.path)
			}
			if m != nil {
				t.Errorf("Load returned a manifest with its error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
	if _, err := manifest.Load(filepath.Join(dir, "ok.yaml")); err != nil {
		t.Errorf("Load(ok.yaml): %v", err)
	}
}

func TestManifest_Examples(t *testing.T) {
	paths, err := filepath.Glob("../examples/*/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(paths), 3; got < want {
		t.Fatalf("found %d example manifests, want at least %d", got, want)
	}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			m, err := manifest.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := m.Spec(isolate.NewCompiler())
			if err != nil {
				t.Fatal(err)
			}
			if !spec.IsSupervisor() || len(spec.Children) == 0 {
				t.Fatalf("root: supervisor=%v with %d children", spec.IsSupervisor(), len(spec.Children))
			}
			for _, ch := range spec.Children {
				if !ch.IsSupervisor() && ch.Go == "" && ch.Script == nil {
					t.Errorf("%s: no compiled script", ch.Name)
				}
			}
		})
	}
}

func TestManifest_Spec(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"app.yaml": `defaults:
  limits: {cpu: 20ms, stack: 300, message_bytes: 1KiB, timers: 9, memory: 8MiB}
root:
  strategy: rest_for_one
  intensity: 7
  period: 2s
  children:
    - name: first
      script: w.js
      shutdown: 2s
      limits: {cpu: 10ms, stack: 500, message_bytes: 64KiB, timers: 7}
      args:
        start: 10
        name: first
        ratio: 2.5
        list: [1, two, true, null]
        nested: {deep: {deeper: [-1]}}
      grants:
        watch: {to: mid/x, rights: [monitor, send]}
        end: {to: last, rights: [kill]}
    - name: mid
      strategy: one_for_all
      children:
        - name: x
          script: lib/w.ts
          args: hello
        - name: y
          script: w.js
    - name: last
      strategy: one_for_one
      children: []
`,
		"w.js":     okJS,
		"lib/w.ts": "export function receive(msg: unknown): unknown { return msg; }\n",
	})
	m, err := manifest.Load(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Limits(), (isolate.Limits{CPU: 20 * time.Millisecond, Stack: 300, MessageBytes: 1024, Timers: 9, Memory: 8 << 20}); got != want {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}
	spec, err := m.Spec(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("tree", func(t *testing.T) {
		names := func(s actor.ChildSpec) []string {
			var out []string
			for _, c := range s.Children {
				out = append(out, c.Name)
			}
			return out
		}
		if got, want := spec.Strategy.String(), "rest_for_one"; got != want {
			t.Errorf("root strategy = %s, want %s", got, want)
		}
		if got, want := names(spec), []string{"first", "mid", "last"}; !slices.Equal(got, want) {
			t.Errorf("root children = %v, want %v", got, want)
		}
		mid := spec.Children[1]
		if !mid.IsSupervisor() || mid.Strategy.String() != "one_for_all" {
			t.Errorf("mid: supervisor=%v strategy=%v, want a one_for_all supervisor", mid.IsSupervisor(), mid.Strategy)
		}
		if got, want := names(mid), []string{"x", "y"}; !slices.Equal(got, want) {
			t.Errorf("mid children = %v, want %v", got, want)
		}
		last := spec.Children[2]
		if !last.IsSupervisor() || last.Strategy.String() != "one_for_one" || len(last.Children) != 0 {
			t.Errorf("last: supervisor=%v strategy=%v children=%d, want an empty one_for_one supervisor", last.IsSupervisor(), last.Strategy, len(last.Children))
		}
		if spec.Children[0].IsSupervisor() {
			t.Errorf("first is a supervisor")
		}
	})

	t.Run("scripts relative to the manifest", func(t *testing.T) {
		for _, tt := range []struct {
			got  *isolate.Script
			want string
		}{
			{spec.Children[0].Script, filepath.Join(dir, "w.js")},
			{spec.Children[1].Children[0].Script, filepath.Join(dir, "lib", "w.ts")},
			{spec.Children[1].Children[1].Script, filepath.Join(dir, "w.js")},
		} {
			if tt.got == nil {
				t.Errorf("no script, want %s", tt.want)
				continue
			}
			if got, want := tt.got.Path(), tt.want; got != want {
				t.Errorf("script path = %s, want %s", got, want)
			}
		}
	})

	t.Run("limits and shutdown", func(t *testing.T) {
		first := spec.Children[0]
		if got, want := first.Limits, (isolate.Limits{CPU: 10 * time.Millisecond, Stack: 500, MessageBytes: 64 << 10, Timers: 7}); got != want {
			t.Errorf("limits = %+v, want %+v", got, want)
		}
		if got, want := first.Shutdown, 2*time.Second; got != want {
			t.Errorf("shutdown = %v, want %v", got, want)
		}
		if got, want := spec.Children[1].Children[1].Limits, (isolate.Limits{}); got != want {
			t.Errorf("limits of a child that sets none = %+v, want zero (the node's defaults apply)", got)
		}
	})

	t.Run("args", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			args []byte
			want any
		}{
			{"mapping", spec.Children[0].Args, map[string]any{
				"start": int64(10), "name": "first", "ratio": 2.5,
				"list":   []any{int64(1), "two", true, nil},
				"nested": map[string]any{"deep": map[string]any{"deeper": []any{int64(-1)}}},
			}},
			{"scalar", spec.Children[1].Children[0].Args, "hello"},
		} {
			var got any
			if err := msgpack.Unmarshal(tt.args, &got); err != nil {
				t.Fatalf("%s: args are not msgpack: %v", tt.name, err)
			}
			if got, want := normalize(got), tt.want; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: args decode to %#v, want %#v", tt.name, got, want)
			}
		}
		if got := spec.Children[1].Children[1].Args; got != nil {
			t.Errorf("args of a child that sets none = %x, want nil", got)
		}
	})

	t.Run("grants", func(t *testing.T) {
		want := []actor.GrantSpec{
			{Name: "end", To: "last", Rights: capability.Kill},
			{Name: "watch", To: "mid/x", Rights: capability.Monitor | capability.Send},
		}
		if got := spec.Children[0].Grants; !slices.Equal(got, want) {
			t.Errorf("grants = %+v, want %+v", got, want)
		}
	})
}

// normalize turns msgpack's integer types into int64 and float32 into float64.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case int:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return int64(v)
	case float32:
		return float64(v)
	}
	return v
}

func TestManifest_SpecErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"syntax.yaml":  head + workerA + "    - name: bad\n      script: bad.js\n",
		"missing.yaml": head + "    - name: gone\n      script: gone.js\n",
		"nested.yaml":  head + "    - name: sup\n      strategy: one_for_one\n      children:\n        - name: bad\n          script: bad.js\n",
		"a.js":         okJS,
		"bad.js":       "export function receive(msg) {\n  let x = 1;\n  return x +;\n}\n",
	})
	tests := []struct {
		name     string
		manifest string
		want     []string
		line     int // of the CompileError, 0 if none
	}{
		{"compile error", "syntax.yaml", []string{filepath.Join(dir, "syntax.yaml") + ":6: ", "bad: ", "bad.js:3:"}, 3},
		{"compile error in a nested worker", "nested.yaml", []string{filepath.Join(dir, "nested.yaml") + ":7: ", "sup/bad: ", "bad.js:3:"}, 3},
		{"missing script", "missing.yaml", []string{filepath.Join(dir, "missing.yaml") + ":4: ", "gone: ", "gone.js"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Load(filepath.Join(dir, tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Spec(isolate.NewCompiler())
			if err == nil {
				t.Fatal("Spec succeeded")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			var ce *isolate.CompileError
			if tt.line > 0 {
				if !errors.As(err, &ce) {
					t.Fatalf("error %v is not an *isolate.CompileError", err)
				}
				if got, want := ce.Line, tt.line; got != want {
					t.Errorf("compile error on line %d, want %d", got, want)
				}
			}
		})
	}
}

func TestManifest_SpecWithoutFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{"w.js": okJS})
	abs := filepath.Join(dir, "w.js")
	m, err := manifest.Parse([]byte(head + "    - name: w\n      script: " + abs + "\n    - name: gone\n      script: " + filepath.Join(dir, "gone.js") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Spec(isolate.NewCompiler())
	if err == nil {
		t.Fatal("Spec succeeded with a missing script")
	}
	if got := err.Error(); !strings.HasPrefix(got, "line 6: gone: ") {
		t.Errorf("error %q, want it to begin with the line and process", got)
	}
}

func TestManifest_AnchorsAndMerge(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"app.yaml": head + workerA + "      limits: &small {cpu: 10ms, stack: 100}\n    - name: b\n      script: a.js\n      limits: {<<: *small, stack: 200}\n    - name: c\n      script: a.js\n      limits: *small\n",
		"a.js":     okJS,
	})
	m, err := manifest.Load(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := m.Spec(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []isolate.Limits{
		{CPU: 10 * time.Millisecond, Stack: 100},
		{CPU: 10 * time.Millisecond, Stack: 200},
		{CPU: 10 * time.Millisecond, Stack: 100},
	} {
		if got := spec.Children[i].Limits; got != want {
			t.Errorf("%s: limits = %+v, want %+v", spec.Children[i].Name, got, want)
		}
	}
}

// The YAML types keep their checks when decoded on their own.
func TestManifest_UnmarshalYAML(t *testing.T) {
	tests := []struct {
		name string
		into any
		src  string
		want string
	}{
		{"child with an unknown field", new(manifest.Child), "name: a\nscirpt: a.js\n", `unknown field "scirpt"`},
		{"child inside itself", new(manifest.Child), "&a {name: a, strategy: one_for_one, children: [*a]}\n", "inside the node it names"},
		{"grant with an unknown field", new(manifest.Grant), "{to: a, rights: [send], bogus: 1}\n", `unknown field "bogus"`},
		{"limits out of range", new(manifest.Limits), "{stack: -1}\n", "stack: -1 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := yaml.Unmarshal([]byte(tt.src), tt.into)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("yaml.Unmarshal = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestManifest_MailboxLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("w.js", okJS)
	write("app.yaml", `defaults:
  limits: {mailbox: 50, mailbox_bytes: 1MiB, outbox_bytes: 2MiB}
root:
  strategy: one_for_one
  children:
    - name: a
      script: w.js
      limits: {mailbox: 5, mailbox_overflow: drop_oldest}
    - name: b
      script: w.js
`)
	m, err := manifest.Load(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := m.Spec(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	a, b := spec.Children[0].Mailbox, spec.Children[1].Mailbox
	if want := (mailbox.Limits{Messages: 5, Bytes: 1 << 20, Overflow: mailbox.DropOldest, OutboxBytes: 2 << 20}); a != want {
		t.Errorf("a's mailbox = %+v, want %+v", a, want)
	}
	if want := (mailbox.Limits{Messages: 50, Bytes: 1 << 20, Overflow: mailbox.Reject, OutboxBytes: 2 << 20}); b != want {
		t.Errorf("b's mailbox = %+v, want %+v", b, want)
	}
	write("bad.yaml", "root:\n  strategy: one_for_one\n  children:\n    - name: a\n      script: w.js\n      limits: {mailbox_overflow: drop_newest}\n")
	if _, err := manifest.Load(filepath.Join(dir, "bad.yaml")); err == nil || !strings.Contains(err.Error(), "line 6") || !strings.Contains(err.Error(), "mailbox_overflow") {
		t.Errorf("bad overflow policy: %v, want an error naming mailbox_overflow and line 6", err)
	}
}

func TestManifest_NodeLimits(t *testing.T) {
	m, err := manifest.Parse([]byte("defaults:\n  limits: {processes: 500, call_depth: 8}\nroot:\n  strategy: one_for_one\n  children:\n    - name: a\n      script: w.js\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, d := m.NodeLimits(); p != 500 || d != 8 {
		t.Fatalf("NodeLimits = %d, %d", p, d)
	}
	_, err = manifest.Parse([]byte("root:\n  strategy: one_for_one\n  children:\n    - name: a\n      script: w.js\n      limits: {call_depth: 3}\n"))
	if err == nil || !strings.Contains(err.Error(), "node-wide") || !strings.Contains(err.Error(), "line 6") {
		t.Fatalf("call_depth on a child: %v, want a node-wide error on line 6", err)
	}
	_, err = manifest.Parse([]byte("defaults:\n  limits: {processes: -1}\nroot:\n  strategy: one_for_one\n"))
	if err == nil || !strings.Contains(err.Error(), "processes") {
		t.Fatalf("negative processes: %v", err)
	}
}

// TestManifest_GoActors: go: names a Go actor instead of a script, for a
// child or a template; the node resolves the name when it starts.
func TestManifest_GoActors(t *testing.T) {
	m, err := manifest.Parse([]byte(head + `    - name: ingest
      go: ingest
      args: {batch: 3}
      grants:
        out: {to: pool, rights: [spawn]}
    - name: pool
      strategy: one_for_one
      template: {go: handler, restart: transient}
`))
	if err != nil {
		t.Fatal(err)
	}
	app, err := m.App(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	spec := app.Root
	in := spec.Children[0]
	if in.Go != "ingest" || in.Script != nil {
		t.Errorf("ingest: Go = %q, Script = %v; want the Go actor ingest and no script", in.Go, in.Script)
	}
	var args map[string]any
	if err := msgpack.Unmarshal(in.Args, &args); err != nil || fmt.Sprint(args["batch"]) != "3" {
		t.Errorf("ingest: args = %v (%v), want batch 3", args, err)
	}
	if got, want := in.Grants, []actor.GrantSpec{{Name: "out", To: "pool", Rights: capability.Spawn}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ingest: grants = %+v, want %+v", got, want)
	}
	if tp := spec.Children[1].Template; tp == nil || tp.Go != "handler" || tp.Restart != actor.Transient {
		t.Errorf("pool: template = %+v, want the Go actor handler, transient", tp)
	}

	// The tree runs once the embedding program registers both: ingest
	// reads its args, spawns a handler through its grant and calls it.
	ingest := func() actor.Receiver {
		batch := 0
		return actor.ReceiverFunc(func(c *actor.Context) {
			switch c.Message().(type) {
			case actor.Init:
				var a struct {
					Batch int `msgpack:"batch"`
				}
				if err := c.Decode(&a); err != nil {
					panic(err)
				}
				batch = a.Batch
			case actor.Message:
				pool, _ := c.Env("out")
				h, err := c.Spawn(context.Background(), pool, nil)
				if err != nil {
					_ = c.Fail(err)
					return
				}
				var got string
				if err := c.Call(context.Background(), h, batch, &got); err != nil {
					_ = c.Fail(err)
					return
				}
				_ = c.Reply(got)
			}
		})
	}
	handler := func() actor.Receiver {
		return actor.ReceiverFunc(func(c *actor.Context) {
			var n int
			if _, ok := c.Message().(actor.Message); ok && c.Decode(&n) == nil {
				_ = c.Reply(fmt.Sprintf("%s handles %d", c.Path(), n))
			}
		})
	}
	opts := app.Options()
	opts.Receivers = map[string]func() actor.Receiver{"ingest": ingest, "handler": handler}
	n, err := actor.NewNode(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(spec); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	c, err := n.Capability("ingest", capability.Send)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got string
	if err := n.Call(ctx, c, nil, &got); err != nil {
		t.Fatal(err)
	}
	if got != "pool/1 handles 3" {
		t.Errorf("ingest answered %q, want \"pool/1 handles 3\"", got)
	}

	bad := []struct {
		name string
		src  string
		want []string
	}{
		{"script and go", head + "    - name: a\n      script: a.js\n      go: a\n", []string{"line 4", "a: ", "a script or a Go actor (go), not both"}},
		{"go and strategy", head + "    - name: a\n      go: a\n      strategy: one_for_one\n", []string{"line 4", "a: ", "either go (a Go actor) or a strategy"}},
		{"go on the root", "root:\n  strategy: one_for_one\n  go: a\n", []string{"root", "either go (a Go actor) or a strategy"}},
		{"neither", head + "    - name: a\n      restart: permanent\n", []string{"line 4", "a: ", "or go: a Go actor"}},
		{"cpu limit on go", head + "    - name: a\n      go: a\n      limits: {mailbox: 5, cpu: 5ms}\n", []string{"line 6", "a: ", "bound scripts, not a Go actor"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Parse([]byte(tt.src))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestManifest_StartTimeout: start_timeout reaches a worker's spec, a
// template's too, and a supervisor with one is refused on its line.
func TestManifest_StartTimeout(t *testing.T) {
	dir := writeFiles(t, map[string]string{"w.js": okJS})
	src := head + "    - name: w\n      script: " + filepath.Join(dir, "w.js") + "\n      start_timeout: 250ms\n" +
		"    - name: pool\n      strategy: one_for_one\n      template: {script: " + filepath.Join(dir, "w.js") + ", start_timeout: 2s}\n"
	m, err := manifest.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := m.Spec(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spec.Children[0].StartTimeout, 250*time.Millisecond; got != want {
		t.Errorf("w: StartTimeout = %v, want %v", got, want)
	}
	if got, want := spec.Children[1].Template.StartTimeout, 2*time.Second; got != want {
		t.Errorf("pool template: StartTimeout = %v, want %v", got, want)
	}
	_, err = manifest.Parse([]byte(head + "    - name: sup\n      strategy: one_for_one\n      start_timeout: 1s\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "start_timeout") {
		t.Errorf("start_timeout on a supervisor: %v, want an error on line 4 naming start_timeout", err)
	}
}
