package debughttp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/debughttp"

	"github.com/chromedp/chromedp"
)

// TestPage_TableDeepLinkAndCollapse drives the process table (search, sort,
// a row opening the details with inspect's state), a deep link to a
// process, and collapsing a supervisor in the tree, in Chromium. With
// $CLOISTER_SCREENSHOTS set to a directory it leaves a screenshot there.
func TestPage_TableDeepLinkAndCollapse(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	ctx := browser(t)
	f.send(t, "counter", map[string]any{"type": "inc", "by": 5})

	rows := func(want int) func() error {
		return func() error {
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#table-body tr").length`))
			if err != nil {
				return err
			}
			if n != want {
				return fmt.Errorf("the table shows %d rows, want %d", n, want)
			}
			return nil
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#table-body tr"))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	checkFor(t, 20*time.Second, 50*time.Millisecond, rows(6))
	waitText(ctx, t, "#table-total", "6 processes")

	// Search, then sort by path both ways.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#table-q"), "pool")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 20*time.Second, 50*time.Millisecond, rows(2))
	// Each click is awaited by the order the server's page reports, shown
	// on the column's header, before the first row is read: the table's
	// first order already puts "pool" first, and the page re-renders the
	// table every second.
	order := func(want string) func() error {
		return func() error {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`(() => { const th = document.querySelector('#table th[data-sort="path"].sorted'); return th ? th.dataset.order : "unsorted"; })()`))
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("the path column's order is %q, want %q", got, want)
			}
			return nil
		}
	}
	clickLive(ctx, t, `#table th[data-sort="path"]`)
	checkFor(t, 20*time.Second, 50*time.Millisecond, order("asc"))
	waitText(ctx, t, "#table-body tr:first-child .path", "pool")
	clickLive(ctx, t, `#table th[data-sort="path"]`)
	checkFor(t, 20*time.Second, 50*time.Millisecond, order("desc"))
	waitText(ctx, t, "#table-body tr:first-child .path", "pool/member")

	// A row opens the details, with the state inspect() returns, and
	// becomes a link.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const q = document.getElementById("table-q"); q.value = ""; return true; })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#table-q"), "counter")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 20*time.Second, 50*time.Millisecond, rows(1))
	clickLive(ctx, t, `#table-body tr[data-path="counter"]`)
	waitText(ctx, t, "#detail-title", "counter — worker")
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		st, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#detail-state")))
		if err != nil {
			return err
		}
		return contains(st, "incarnation 1", `"count": 15`)
	})
	id := f.id(t, "counter")
	hash, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if err != nil || hash != fmt.Sprintf("#/processes/%d", id) {
		t.Fatalf("the location is %q (%v), want a link to process %d", hash, err, id)
	}

	// The link opens the same details in a fresh page.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.srv.URL+"/#/processes/"+fmt.Sprint(f.id(t, "pool/member"))),
		chromedp.Reload(),
	); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, "#detail-title", "pool/member — worker")

	// Collapsing pool hides its child.
	pool := `.proc[data-path="pool"]`
	clickLive(ctx, t, pool+" > .row .toggle")
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.proc[data-path="pool/member"]').length`))
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("pool/member still shown in the tree")
		}
		return nil
	})
	waitText(ctx, t, pool+" > .row .toggle", "▸")
	// It stays collapsed across polls.
	n0, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("conn").textContent`))
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		n1, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("conn").textContent`))
		if err != nil || n1 == n0 {
			return fmt.Errorf("no poll yet")
		}
		return nil
	})
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.proc[data-path="pool/member"]').length`)); n != 0 {
		t.Fatal("a poll expanded the collapsed supervisor")
	}
	if dir := os.Getenv("CLOISTER_SCREENSHOTS"); dir != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "observer.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
