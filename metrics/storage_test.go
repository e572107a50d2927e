package metrics_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/internal/testkit/testnode"
	"github.com/cloister-rt/cloister/metrics"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

// failingPebble is the embedded backend with commits that fail on demand.
type failingPebble struct {
	*storage.Pebble
	fail atomic.Bool
}

var errInjected = fmt.Errorf("injected commit failure")

func (f *failingPebble) Commit(slot string, b *storage.Batch) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.Pebble.Commit(slot, b)
}

// TestMetrics_Storage drives committed turns, a refused put, an alarm that
// is retried, a failed commit and dynamic children with storage, and reads
// each figure back from a real scrape.
func TestMetrics_Storage(t *testing.T) {
	p, err := storage.OpenPebble(t.TempDir(), storage.PebbleOptions{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() }) // after the node's shutdown (cleanups run last first)
	b := &failingPebble{Pebble: p}
	store := testnode.ScriptFile(t, "testdata/store.js")
	node := testnode.New(t, actor.Options{Storage: b})
	m := metrics.New(node)
	if err := node.Start(actor.ChildSpec{
		Name:     "root",
		Strategy: supervisor.NewOneForOne(100, time.Second),
		Children: []actor.ChildSpec{
			{Name: "acct", Script: store, Storage: true, StorageQuota: 100},
			{Name: "plain", Script: testnode.ScriptFile(t, "testdata/worker.js")},
			{Name: "pool", Strategy: supervisor.NewOneForOne(100, time.Second), Template: &actor.ChildSpec{Script: store, Storage: true}},
			{Name: "spawner", Script: testnode.ScriptFile(t, "testdata/spawner.js"), Grants: []actor.GrantSpec{{Name: "pool", To: "pool", Rights: capability.Spawn}}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{node: node, srv: srv}

	var answer string
	testnode.Call(t, node, "acct", map[string]any{"type": "put", "k": "k", "v": "v"}, new(any))
	testnode.Call(t, node, "acct", map[string]any{"type": "big", "n": 200}, &answer)
	if answer != "QuotaExceededError" {
		t.Fatalf("a put past the quota answered %q", answer)
	}
	testnode.Call(t, node, "acct", map[string]any{"type": "read"}, new(any)) // writes nothing: no commit
	const children = 3
	f.send(t, "spawner", map[string]any{"type": "spawn", "n": children})

	// "k" → "v" is 1 + 2 (msgpack) + 16 bytes; each child's "hello" → 1 is 5 + 1 + 16.
	want := []string{
		`cloister_storage_commits_total{name="acct"} 1`,
		`cloister_storage_commits_total{name="pool/*"} 3`,
		`cloister_storage_quota_refusals_total{name="acct"} 1`,
		`cloister_storage_keys{name="acct"} 1`,
		`cloister_storage_bytes{name="acct"} 19`,
		`cloister_storage_quota_bytes{name="acct"} 100`,
		`cloister_storage_keys{name="pool/*"} 3`,
		`cloister_storage_bytes{name="pool/*"} 66`,
		`cloister_storage_quota_bytes{name="pool/*"} ` + strconv.FormatFloat(children*storage.DefaultQuota, 'g', -1, 64),
		`cloister_storage_node_keys 4`,
		`cloister_storage_node_bytes 85`,
		`cloister_storage_commit_seconds_count 4`,
	}
	body := scrapeFor(t, f, want)
	for _, bad := range []string{`name="plain"}`, `name="spawner"}`} {
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "cloister_storage_") && strings.Contains(line, bad) {
				t.Errorf("a process without storage has a storage series: %s", line)
			}
		}
	}
	if v := sample(t, body, "cloister_storage_disk_bytes"); v <= 0 {
		t.Errorf("cloister_storage_disk_bytes = %v", v)
	}

	// An alarm whose first run throws: two runs, one of them a retry, and
	// the second run's put committed with the alarm's deletion.
	testnode.Call(t, node, "acct", map[string]any{"type": "alarm"}, new(any))
	scrapeFor(t, f, []string{
		`cloister_storage_alarm_runs_total{name="acct"} 2`,
		`cloister_storage_alarm_retries_total{name="acct"} 1`,
		`cloister_storage_commits_total{name="acct"} 3`,
		`cloister_storage_keys{name="acct"} 2`,
		`cloister_crashes_total{name="acct",reason="error"} 1`,
	})

	// A failed commit: counted, and the crash has the typed reason storage.
	b.fail.Store(true)
	if _, err := testnode.TryCall(t, node, "acct", map[string]any{"type": "put", "k": "k2", "v": 1}); err == nil {
		t.Fatal("a call whose turn failed to commit was answered")
	}
	b.fail.Store(false)
	body = scrapeFor(t, f, []string{
		`cloister_storage_commit_failures_total{name="acct"} 1`,
		`cloister_crashes_total{name="acct",reason="storage"} 1`,
		`cloister_storage_commits_total{name="acct"} 3`,
		`cloister_storage_commit_seconds_count 7`,
		`cloister_storage_keys{name="acct"} 2`,
	})
	promtoolCheck(t, body)
}

// scrapeFor scrapes until every line of want is in the scrape.
func scrapeFor(t *testing.T, f *fixture, want []string) string {
	t.Helper()
	var body string
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		body = f.scrape(t)
		for _, w := range want {
			if !strings.Contains(body, w+"\n") {
				return fmt.Errorf("no %q in the scrape:\n%s", w, grep(body, "cloister_storage_"))
			}
		}
		return nil
	})
	return body
}

// sample is the value of an unlabelled series in a scrape.
func sample(t *testing.T, body, name string) float64 {
	t.Helper()
	mm := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if mm == nil {
		t.Fatalf("no %s in the scrape", name)
	}
	v, err := strconv.ParseFloat(mm[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// promtoolCheck runs `promtool check metrics` on a scrape when promtool is
// on PATH (required when $CLOISTER_REQUIRE_PROMTOOL=1, as in CI).
func promtoolCheck(t *testing.T, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CLOISTER_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("no promtool on PATH and CLOISTER_REQUIRE_PROMTOOL=1")
		}
		t.Log("no promtool on PATH: the scrape is not linted")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
}
