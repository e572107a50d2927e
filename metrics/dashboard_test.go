package metrics_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

// TestDashboard_UsesExportedMetrics keeps docs/grafana-dashboard.json honest:
// it is valid JSON and every cloister_ metric it queries is one the node
// exports (a clustered node and a node with storage included).
func TestDashboard_UsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if len(dash.Panels) < 8 {
		t.Fatalf("the dashboard has %d panels", len(dash.Panels))
	}
	f := start(t)
	f.send(t, "b", map[string]any{"type": "boom"})
	f.send(t, "team/c", map[string]any{"type": "spin"})
	f.deny(t, "a")
	f.send(t, "a", map[string]any{"type": "fwd"})
	var scrape string
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		scrape = f.scrape(t)
		for _, m := range []string{"cloister_limit_kills_total{", "cloister_messages_out_total{", "cloister_capability_denials_total{"} {
			if !strings.Contains(scrape, m) {
				return fmt.Errorf("no %s yet", m)
			}
		}
		return nil
	})
	// The cluster and storage panels need a clustered node and a node with
	// storage that has committed.
	scrape += startCluster(t).scrape(t, "a") + storageScrape(t)
	re := regexp.MustCompile(`cloister_[a-z_]+`)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range re.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(name, "_bucket")
				if name == "cloister_isolate_heap_bytes" {
					continue // reported only where the runtime accounts isolate heaps
				}
				if !strings.Contains(scrape, "# TYPE "+base+" ") {
					t.Errorf("panel %q queries %s, which the node does not export", p.Title, name)
				}
			}
		}
	}
}

// storageScrape is a scrape of a node whose worker with storage has
// committed a turn, on the embedded backend.
func storageScrape(t *testing.T) string {
	t.Helper()
	p, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() }) // after the node's shutdown
	node := testnode.New(t, actor.Options{Storage: p})
	m := metrics.New(node)
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "acct", Script: testnode.ScriptFile(t, "testdata/store.js"), Storage: true},
	}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	testnode.Call(t, node, "acct", map[string]any{"type": "put", "k": "k", "v": "v"}, new(any))
	f := &fixture{node: node, srv: srv}
	return scrapeFor(t, f, []string{`cloister_storage_commits_total{name="acct"} 1`})
}
