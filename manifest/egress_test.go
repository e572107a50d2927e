package manifest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/egress"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/manifest"
)

const egressTree = `
root:
  strategy: one_for_one
  children:
    - name: api
      script: api.js
      grants:
`

func TestHTTPGrant(t *testing.T) {
	t.Setenv("CLOISTER_TEST_TOKEN", "s3cret")
	dir := writeFiles(t, map[string]string{"api.js": "export function receive() {}", "app.yaml": egressTree + `        github:
          kind: http
          allow: ["https://api.github.com/repos/"]
          methods: [GET, post]
          timeout: 5s
          max_response: 256KiB
          max_concurrent: 2
          headers: {Authorization: "Bearer ${CLOISTER_TEST_TOKEN}", X-Other: "${CLOISTER_SURELY_UNSET_VAR:-fallback}"}
          networks: [10.1.0.0/16]
`})
	m, err := manifest.Load(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	app, err := m.App(isolate.NewCompiler())
	if err != nil {
		t.Fatal(err)
	}
	gs := app.Root.Children[0].Grants
	if len(gs) != 1 {
		t.Fatalf("grants %+v", gs)
	}
	g, ok := gs[0].Target.(*egress.Grant)
	if !ok {
		t.Fatalf("target %T", gs[0].Target)
	}
	p := g.Policy()
	if p.Headers["Authorization"] != "Bearer s3cret" || p.Headers["X-Other"] != "fallback" || p.MaxResponse != 256<<10 || p.MaxConcurrent != 2 ||
		strings.Join(p.Methods, ",") != "GET,POST" || len(p.Networks) != 1 {
		t.Fatalf("policy %+v", p)
	}
	if err := g.Allowed("GET", "https://api.github.com/repos/x/y"); err != nil {
		t.Fatal(err)
	}
	if err := g.Allowed("GET", "https://api.github.com/user"); err == nil {
		t.Fatal("a URL outside the prefix was allowed")
	}
}

func TestHTTPGrantErrors(t *testing.T) {
	cases := []struct{ grant, want string }{
		{"{kind: ftp, allow: [x]}", `kind "ftp" is unknown`},
		{"{kind: http}", "allow: at least one URL prefix"},
		{"{kind: http, allow: ['ftp://x/']}", "http or https"},
		{"{kind: http, allow: ['https://x/'], to: api}", "not a process"},
		{"{kind: http, allow: ['https://x/'], rights: [send]}", "takes no rights"},
		{"{kind: http, allow: ['https://x/'], methods: [FLY]}", "not an HTTP method"},
		{"{kind: http, allow: ['https://x/'], networks: [everything]}", "not a CIDR prefix"},
		{"{allow: ['https://x/']}", "kind"},
	}
	for _, c := range cases {
		_, err := manifest.Parse([]byte(egressTree + "        g: " + c.grant + "\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.grant, err, c.want)
		}
	}
	dir := writeFiles(t, map[string]string{"api.js": "export function receive() {}",
		"app.yaml": egressTree + "        g: {kind: http, allow: ['https://x/'], headers: {X-Key: '${CLOISTER_SURELY_UNSET_VAR}'}}\n"})
	m, err := manifest.Load(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.App(isolate.NewCompiler()); err == nil || !strings.Contains(err.Error(), "CLOISTER_SURELY_UNSET_VAR is not set") {
		t.Fatalf("a missing variable: %v", err)
	}
}
