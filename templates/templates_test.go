package templates_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"
	"github.com/cloister-rt/cloister/templates"
)

// cloister.d.ts declares every member of ctx that the runtime has, and
// every method of a capability handle.
func TestTypes_DeclareTheWholeAPI(t *testing.T) {
	s, err := isolate.Compile("keys.js", []byte(`
export function receive(msg, ctx) {
  const h = ctx.self;
  const methods = ["send", "call", "attenuate", "monitor", "demonitor", "link", "unlink", "exit", "kill", "spawn", "inspect", "rights"]
    .filter((m) => h[m] !== undefined);
  return {ctx: Object.getOwnPropertyNames(ctx), methods};
}`))
	if err != nil {
		t.Fatal(err)
	}
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1, time.Second),
		Children: []actor.ChildSpec{{Name: "keys", Script: s}}}
	if err := n.Start(root); err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	c, _ := n.Capability("keys", capability.All)
	var got struct {
		Ctx     []string `msgpack:"ctx"`
		Methods []string `msgpack:"methods"`
	}
	if err := n.Call(context.Background(), c, nil, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Ctx) < 9 || len(got.Methods) != 12 {
		t.Fatalf("the runtime shows ctx %v and handle methods %v", got.Ctx, got.Methods)
	}
	dts := string(templates.Types())
	for _, name := range append(got.Ctx, got.Methods...) {
		if !regexp.MustCompile(`(?m)^\s+(readonly )?` + name + `[(<:]`).MatchString(dts) {
			t.Errorf("cloister.d.ts does not declare %q", name)
		}
	}
}

// The examples carry a copy of cloister.d.ts; it must not drift.
func TestTypes_ExamplesCopyIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../examples/cloister.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, templates.Types()) {
		t.Fatal("examples/cloister.d.ts differs from templates/scaffold/cloister.d.ts: copy it over")
	}
}
