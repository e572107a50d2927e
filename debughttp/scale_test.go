package debughttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/debughttp"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/chromedp/chromedp"
)

const bigPool = 1200

// bigNode runs a supervisor with bigPool workers behind the endpoint.
func bigNode(t *testing.T) *httptest.Server {
	t.Helper()
	s, err := isolate.Compile("w.js", []byte(`export function receive() {}`))
	if err != nil {
		t.Fatal(err)
	}
	children := make([]actor.ChildSpec, bigPool)
	for k := range children {
		children[k] = actor.ChildSpec{Name: fmt.Sprintf("w%04d", k), Script: s}
	}
	node, err := actor.NewNode(actor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(10, time.Second), Children: []actor.ChildSpec{
		{Name: "pool", Strategy: supervisor.NewOneForOne(10, time.Second), Children: children},
	}}
	if err := node.Start(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Shutdown(context.Background()) })
	srv := httptest.NewServer(debughttp.Handler(debughttp.Config{Node: node, Token: token}))
	t.Cleanup(srv.Close)
	return srv
}

func bodyOf(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return b
}

// What the page asks for stays bounded however many processes there are.
func TestDebug_BoundedAnswersForALargeNode(t *testing.T) {
	srv := bigNode(t)
	full := bodyOf(t, srv.URL+"/debug/tree?children=1000")
	bounded := bodyOf(t, srv.URL+"/debug/tree")
	var tree debughttp.Process
	if err := json.Unmarshal(bounded, &tree); err != nil {
		t.Fatal(err)
	}
	pool := tree.Children[0]
	if len(pool.Children) != 200 || pool.MoreChildren != bigPool-200 || pool.Children[199].Name != "w0199" {
		t.Fatalf("bounded pool: %d children, %d more", len(pool.Children), pool.MoreChildren)
	}
	table := bodyOf(t, srv.URL+"/debug/processes?sort=handled&limit=50")
	t.Logf("answers for %d processes: tree?children=1000 %d bytes, tree (200 children) %d bytes, one table page %d bytes",
		bigPool+2, len(full), len(bounded), len(table))
	if len(bounded)*4 > len(full) || len(table)*10 > len(full) {
		t.Fatalf("the bounded answers are not much smaller than a tree of 1000 children: %d and %d of %d bytes", len(bounded), len(table), len(full))
	}
	for _, bad := range []string{"?children=0", "?children=1001", "?children=x"} {
		resp, err := http.Get(srv.URL + "/debug/tree" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/debug/tree%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// The page draws a bounded tree and a page of the table for a large node.
func TestPage_LargeNodeInChromium(t *testing.T) {
	srv := bigNode(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".more"))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	waitText(ctx, t, ".more", fmt.Sprintf("… and %d more: search the process table", bigPool-200))
	procs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".proc").length`))
	if err != nil || procs != 202 {
		t.Fatalf("the tree draws %d processes (%v), want 202", procs, err)
	}
	waitText(ctx, t, "#table-total", fmt.Sprintf("%d processes", bigPool+2))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#table-body tr").length`))
	if err != nil || rows != 50 {
		t.Fatalf("the table draws %d rows (%v), want one page of 50", rows, err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#table-q"), "w1199")); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, "#table-body tr:first-child .path", "pool/w1199")
}
