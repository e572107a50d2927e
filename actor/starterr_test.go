package actor_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
)

func TestStartError_NamesTheLineAndTheGrants(t *testing.T) {
	for _, tc := range []struct {
		name, src, at string
	}{
		{"init", "export function init(args, ctx) {\n  const x = 1;\n  ctx.env.jobs.send({hi: 1});\n}\nexport function receive() {}\n", "noenv.js:3:"},
		{"module", "const jobs = undefined;\n\njobs.send(1);\nexport function receive() {}\n", "noenv.js:3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := isolate.Compile("/srv/app/noenv.js", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			n, err := actor.NewNode(actor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Shutdown(context.Background())
			root := oneForOne(worker(t, "other", `export function receive() {}`),
				actor.ChildSpec{Name: "noenv", Script: s, Grants: []actor.GrantSpec{
					{Name: "other", To: "other", Rights: capability.Send},
					{Name: "peer", To: "other", Rights: capability.Send},
				}})
			err = n.Start(root)
			var se *actor.StartError
			if !errors.As(err, &se) {
				t.Fatalf("start: %v, want a StartError", err)
			}
			if !strings.HasPrefix(se.At, tc.at) || strings.Join(se.Grants, ",") != "other,peer" {
				t.Fatalf("at %q, grants %v; want %s... and [other peer]", se.At, se.Grants, tc.at)
			}
			msg := err.Error()
			for _, want := range []string{"noenv", "TypeError", "(at " + tc.at, `ctx.env has "other", "peer"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not say %q", msg, want)
				}
			}
		})
	}
}
