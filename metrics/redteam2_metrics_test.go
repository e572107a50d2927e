package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"
)

// redteam2StopJS ends its incarnation with the reason it is sent, or
// floods the console.
const redteam2StopJS = `
export function receive(msg, ctx) {
  if (msg.op === "flood") { for (let i = 0; i < 20000; i++) console.log("x".repeat(100)); return "ok"; }
  ctx.stop(msg.reason);
  return "ok";
}`

// redteam2Sample is one line of the text exposition format: a metric
// name, labels whose values are quoted strings with escapes, and a value.
var redteam2Sample = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? \S+$`)

// TestRedteam2_TenantStringsDoNotReachLabels: a tenant ends 60
// incarnations with reasons of its own choosing (quotes, newlines, text
// shaped like exposition lines) and floods its console. A scrape stays
// well-formed, every reason label is one of the fixed set, every limit
// label is a fixed name, and no line the tenant wrote appears as a metric.
func TestRedteam2_TenantStringsDoNotReachLabels(t *testing.T) {
	node := testnode.New(t, actor.Options{})
	m := metrics.New(node)
	if err := node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(1000, time.Second),
		Children: []actor.ChildSpec{
			// The CPU limit is not under test: room for the console flood
			// and the restarts under the race detector on a loaded machine.
			{Name: "stopper", Script: testnode.Script(t, "stopper.js", []byte(redteam2StopJS)), Limits: isolate.Limits{CPU: 20 * time.Second}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{node: node, srv: srv}
	const stops = 60
	for i := range stops {
		reason := fmt.Sprintf("r%d\"} 1\nfake_metric{a=\"%d\"} 1\n# TYPE x counter\\", i, i)
		testnode.Call(t, node, "stopper", map[string]any{"reason": reason}, new(string))
	}
	testnode.Call(t, node, "stopper", map[string]any{"op": "flood"}, new(string))
	var body string
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		body = f.scrape(t)
		want := fmt.Sprintf(`cloister_crashes_total{name="stopper",reason="exit"} %d`, stops)
		if !strings.Contains(body, want) {
			return fmt.Errorf("no %s:\n%s", want, grep(body, "crashes"))
		}
		if !strings.Contains(body, `cloister_limit_refusals_total{limit="console",name="stopper"} 1`) {
			return fmt.Errorf("no console limit hit:\n%s", grep(body, "limit_refusals"))
		}
		return nil
	})
	fixed := map[string]bool{"error": true, "cpu_limit": true, "memory_limit": true, "mailbox_overflow": true,
		"killed": true, "linked": true, "shutdown": true, "reached_max_restart_intensity": true,
		actor.ReasonStorage: true, "exit": true, "other": true}
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.HasPrefix(l, "#") {
			if !strings.HasPrefix(l, "# HELP ") && !strings.HasPrefix(l, "# TYPE ") {
				t.Errorf("comment line not the exporter's: %q", l)
			}
			continue
		}
		if !redteam2Sample.MatchString(l) {
			t.Errorf("malformed sample line %q", l)
		}
		if strings.HasPrefix(l, "fake_metric") || strings.HasPrefix(l, "x ") {
			t.Errorf("a tenant's text became a metric: %q", l)
		}
	}
	for _, mm := range regexp.MustCompile(`reason="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !fixed[mm[1]] {
			t.Errorf("reason label %q is not one of the fixed set", mm[1])
		}
	}
	for _, mm := range regexp.MustCompile(`limit="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !regexp.MustCompile(`^[a-z_]+$`).MatchString(mm[1]) {
			t.Errorf("limit label %q is not a fixed name", mm[1])
		}
	}
	if n := strings.Count(body, "\n"); n > 2000 {
		t.Errorf("the scrape has %d lines after %d distinct reasons", n, stops)
	}
}
