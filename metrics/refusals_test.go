package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"
)

// floodDenierJS makes msg.n refused kills and msg.n refused timers (it may
// keep 10) in one turn.
const floodDenierJS = `
export function receive(msg, ctx) {
  for (let i = 0; i < msg.n; i++) { try { ctx.env.victim.kill(); } catch (e) {} }
  for (let i = 0; i < msg.n; i++) { try { setTimeout(() => {}, 1e9); } catch (e) {} }
  return "ok";
}`

// TestMetrics_CountEveryRefusal: a process's budget of reported refusals
// keeps most of a flood out of the node's event queues, but the counters
// count every refusal, reported or not.
func TestMetrics_CountEveryRefusal(t *testing.T) {
	node := testnode.New(t, actor.Options{})
	m := metrics.New(node)
	if err := node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(3, time.Second),
		Children: []actor.ChildSpec{
			{Name: "victim", Script: testnode.Script(t, "victim.js", []byte(`export function receive() {}`))},
			{
				Name: "denier", Script: testnode.Script(t, "denier.js", []byte(floodDenierJS)),
				Grants: []actor.GrantSpec{{Name: "victim", To: "victim", Rights: capability.Send}},
				Limits: isolate.Limits{CPU: 20 * time.Second, Timers: 10},
			},
		},
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{node: node, srv: srv}
	const n = 1000 // ten times the budget's burst
	testnode.Call(t, node, "denier", map[string]any{"n": n}, new(string))
	wants := []string{
		fmt.Sprintf(`cloister_capability_denials_total{cause="missing",right="kill"} %d`, n),
		fmt.Sprintf(`cloister_limit_refusals_total{limit="timers",name="denier"} %d`, n-10),
	}
	checkFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		body := f.scrape(t)
		for _, want := range wants {
			if !strings.Contains(body, want) {
				return fmt.Errorf("no %s:\n%s%s", want, grep(body, "denials"), grep(body, "limit_refusals"))
			}
		}
		return nil
	})
}
