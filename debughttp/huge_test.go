package debughttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/chromedp/chromedp"
)

// The node of TestDebug_HugeNode is a manifest tree: hugePools
// supervisors of Go actors under the root, the processes shared among
// them. $CLOISTER_HUGE_NODE overrides the total, to measure. Under the
// race detector (which CI runs on this package too) the node has
// hugeRace processes: 100,000 would take gigabytes of shadow memory.
const (
	hugePools   = 10
	hugeDefault = 100_000
	hugeRace    = 10_000
)

// TestDebug_HugeNode runs a node of 100,000 processes (Go actors: a JS
// isolate each would not fit a shared CI machine) and checks that what
// the page asks for stays bounded — the tree at its default bound, a page
// of the table, the stats — and that the page loads in Chromium and shows
// the table. It took 27 to 40 s on a loaded 2-core machine, the node's
// start 2 to 10 s of it. The processes are declared, not spawned: a keyed
// spawn scans its supervisor's children, so spawning 10,000 under each of
// ten templates took minutes.
func TestDebug_HugeNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100,000 processes")
	}
	total := hugeDefault
	if raceDetector {
		total = hugeRace
	}
	if v, err := strconv.Atoi(os.Getenv("CLOISTER_HUGE_NODE")); err == nil && v >= hugePools {
		total = v
	}
	perPool := total / hugePools
	idle := func() actor.Receiver { return actor.ReceiverFunc(func(*actor.Context) {}) }
	node, err := actor.NewNode(actor.Options{Receivers: map[string]func() actor.Receiver{"idle": idle}})
	if err != nil {
		t.Fatal(err)
	}
	pools := make([]actor.ChildSpec, hugePools)
	for k := range pools {
		children := make([]actor.ChildSpec, perPool)
		for i := range children {
			children[i] = actor.ChildSpec{Name: "w" + strconv.Itoa(i), Go: "idle"}
		}
		pools[k] = actor.ChildSpec{Name: fmt.Sprintf("pool%d", k), Strategy: supervisor.NewOneForOne(10, time.Second), Children: children}
	}
	began := time.Now()
	if err := node.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: pools}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Shutdown(context.Background()) })
	procs := 1 + hugePools + hugePools*perPool
	t.Logf("started %d processes in %v", procs, time.Since(began).Round(time.Millisecond))
	srv := httptest.NewServer(debughttp.Handler(debughttp.Config{Node: node, Token: token}))
	t.Cleanup(srv.Close)

	// The tree at its default bound: 200 children under each pool.
	tree := bodyOf(t, srv.URL+"/debug/tree")
	var root debughttp.Process
	if err := json.Unmarshal(tree, &root); err != nil {
		t.Fatal(err)
	}
	if len(root.Children) != hugePools || len(root.Children[0].Children) != min(200, perPool) ||
		root.Children[0].MoreChildren != perPool-min(200, perPool) {
		t.Fatalf("bounded tree: %d pools, %d children and %d more in the first", len(root.Children),
			len(root.Children[0].Children), root.Children[0].MoreChildren)
	}
	// A page of the table, sorted, and the last page.
	page := bodyOf(t, srv.URL+"/debug/processes?sort=handled&limit=100")
	var tb debughttp.Table
	if err := json.Unmarshal(page, &tb); err != nil {
		t.Fatal(err)
	}
	if tb.Total != procs || len(tb.Processes) != 100 {
		t.Fatalf("table: total %d, %d rows; want %d and 100", tb.Total, len(tb.Processes), procs)
	}
	last := bodyOf(t, srv.URL+fmt.Sprintf("/debug/processes?offset=%d&limit=1000", procs-10))
	if err := json.Unmarshal(last, &tb); err != nil || len(tb.Processes) != 10 {
		t.Fatalf("last page: %d rows (%v)", len(tb.Processes), err)
	}
	stats := bodyOf(t, srv.URL+"/debug/stats")
	var st debughttp.Stats
	if err := json.Unmarshal(stats, &st); err != nil || st.Processes != procs {
		t.Fatalf("stats: %d processes (%v)", st.Processes, err)
	}
	t.Logf("answers for %d processes: tree %d bytes, table page of 100 %d bytes, stats %d bytes",
		procs, len(tree), len(page), len(stats))
	// Bounds that do not grow with the node: 10 pools of 200 entries of
	// about 270 bytes; 100 rows of about 300; the stats a few hundred.
	if len(tree) > 1<<20 || len(page) > 64<<10 || len(stats) > 4<<10 {
		t.Fatalf("unbounded answers: tree %d, table page %d, stats %d bytes", len(tree), len(page), len(stats))
	}

	t.Logf("answers checked at %v", time.Since(began).Round(time.Millisecond))
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#table-body tr"))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	waitText(ctx, t, "#table-total", fmt.Sprintf("%d processes", procs))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#table-body tr").length`))
	if err != nil || rows != 50 {
		t.Fatalf("the table draws %d rows (%v), want one page of 50", rows, err)
	}
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".proc").length`))
	if want := 1 + hugePools + hugePools*min(200, perPool); err != nil || drawn != want {
		t.Fatalf("the tree draws %d processes (%v), want %d", drawn, err, want)
	}
	key := fmt.Sprintf("pool%d/w%d", hugePools-1, perPool-1)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#table-q"), key)); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, "#table-body tr:first-child .path", key)
	t.Logf("page checked at %v", time.Since(began).Round(time.Millisecond))
}
