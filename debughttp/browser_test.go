package debughttp_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/debughttp"

	"github.com/chromedp/chromedp"
)

// browser returns a headless Chromium context, or skips the test when no
// Chromium is installed, unless $CLOISTER_REQUIRE_BROWSER=1 (as in CI).
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CLOISTER_REQUIRE_BROWSER") == "1" {
			t.Fatal("no chromium on PATH and CLOISTER_REQUIRE_BROWSER=1")
		}
		t.Skip("no chromium on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// waitText polls the text of the element sel until it equals want.
func waitText(ctx context.Context, t *testing.T, sel, want string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		got, err = chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err == nil && strings.TrimSpace(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s shows %q (err %v), want %q", sel, got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clickLive clicks the element sel selects from inside the page, in one
// step: the live page re-renders rows every second, so a node found in one
// DevTools call may be gone by the next, as a click through chromedp takes
// several. It waits for the element to appear.
func clickLive(ctx context.Context, t *testing.T, sel string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true; })()`, sel)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("click %s: not found (err %v)", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPage_LiveInChromium loads the page in a real browser, sees the tree,
// crashes an actor and sees its restart count change without a reload,
// then opens the crash report and kills a process with the page's button.
func TestPage_LiveInChromium(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	ctx := browser(t)

	counter := `.proc[data-path="counter"]`
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(counter)),
	); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".proc").length`))
	if err != nil {
		t.Fatal(err)
	}
	if nodes != 6 {
		t.Errorf("the page shows %d processes, want 6", nodes)
	}
	waitText(ctx, t, counter+" > .row .restarts", "0")
	waitText(ctx, t, counter+" > .row .status", "running")
	waitText(ctx, t, `.proc[data-path="pool/member"] > .row .name`, "member")

	// Remember the document, to prove the page updates in place.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__marker = 42`)); err != nil {
		t.Fatal(err)
	}
	f.send(t, "counter", map[string]any{"type": "boom"})
	waitText(ctx, t, counter+" > .row .restarts", "1")
	waitText(ctx, t, counter+" > .row .incarnation", "2")
	if marker, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__marker`)); err != nil || marker != 42 {
		t.Fatalf("the page reloaded (marker %d, %v)", marker, err)
	}

	// Crash details on click.
	clickLive(ctx, t, counter+" > .row")
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		stack, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#detail-crashes .crash-stack")||{}).textContent||""`))
		if err != nil {
			return err
		}
		return contains(stack, "boom at 10", "counter.js:")
	})
	actionsHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("actions").hidden`))
	if err != nil {
		t.Fatal(err)
	}
	if !actionsHidden {
		t.Error("kill/restart buttons shown without a token")
	}

	// With the token, the buttons act.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS(`#auth button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#actions button[data-action="kill"]`)),
		chromedp.Click(chromedp.CSS(`#actions button[data-action="kill"]`)),
	); err != nil {
		t.Fatalf("kill from the page: %v", err)
	}
	waitText(ctx, t, counter+" > .row .restarts", "2")
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		reasons, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#detail-crashes")))
		if err != nil {
			return err
		}
		return contains(reasons, "killed")
	})
	p, _ := f.node.Lookup("counter")
	if got := p.Crashes(); len(got) != 2 || got[1].Reason != "killed" {
		t.Errorf("crashes = %v, want the page's kill last", got)
	}
}
