package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/supervisor"
)

// TestMetrics_DynamicChildrenShareALabel spawns many dynamic children and
// checks they are counted under "pool/*", never one series per child.
func TestMetrics_DynamicChildrenShareALabel(t *testing.T) {
	load := func(name string) *isolate.Script {
		src, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := isolate.Compile(name, src)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(node)
	if err := node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(100, time.Second),
		Children: []actor.ChildSpec{
			{Name: "pool", Strategy: supervisor.NewOneForOne(100, time.Second), Template: &actor.ChildSpec{Script: load("worker.js")}},
			{Name: "spawner", Script: load("spawner.js"), Grants: []actor.GrantSpec{{Name: "pool", To: "pool", Rights: capability.Spawn}}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = node.Shutdown(context.Background())
	})
	f := &fixture{node: node, srv: srv}
	const n = 20
	f.send(t, "spawner", map[string]any{"type": "spawn", "n": n})
	var body string
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		body = f.scrape(t)
		want := fmt.Sprintf(`cloister_spawns_total{name="pool/*"} %d`, n)
		if !strings.Contains(body, want) || !strings.Contains(body, fmt.Sprintf(`cloister_messages_in_total{name="pool/*"} %d`, n)) {
			return fmt.Errorf("no %s:\n%s", want, grep(body, "pool"))
		}
		return nil
	})
	names := map[string]bool{}
	for _, mm := range regexp.MustCompile(`name="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		names[mm[1]] = true
	}
	for name := range names {
		if name != "/" && name != "pool" && name != "pool/*" && name != "spawner" {
			t.Errorf("label name=%q: not a manifest path", name)
		}
	}
}
