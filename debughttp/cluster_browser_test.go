package debughttp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cloister-rt/cloister/debughttp"

	"github.com/chromedp/chromedp"
)

// TestPage_ClusterSection: a clustered node's page shows its peer, live,
// and the peer going down when it leaves; a node that is not clustered
// shows no cluster section. With $CLOISTER_SCREENSHOTS set to a directory
// it leaves a screenshot there.
func TestPage_ClusterSection(t *testing.T) {
	c, fs := startCluster(t, debughttp.Config{Token: token})
	ctx := browser(t)
	row := `#cluster-body tr[data-peer="b"]`
	if err := chromedp.Do(ctx, chromedp.Navigate(fs["a"].srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	waitText(ctx, t, row+" td:nth-child(1)", "b")
	waitText(ctx, t, row+" td:nth-child(2)", "up")
	if err := c.Transports["b"].Close(); err != nil {
		t.Fatal(err)
	}
	waitText(ctx, t, row+" td:nth-child(2)", "down")
	waitText(ctx, t, row+" td:nth-child(12)", "1") // losses
	if dir := os.Getenv("CLOISTER_SCREENSHOTS"); dir != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cluster.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Not clustered: the page loads its tree, the section stays hidden.
	solo := start(t, debughttp.Config{Token: token})
	if err := chromedp.Do(ctx, chromedp.Navigate(solo.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`.proc[data-path="counter"]`))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("cluster-pane").hidden`))
	if err != nil || !hidden {
		t.Errorf("an unclustered node's page shows a cluster section (%v)", err)
	}
}
