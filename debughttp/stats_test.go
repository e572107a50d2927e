package debughttp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/debughttp"

	"github.com/chromedp/chromedp"
)

func TestDebug_Stats(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	get := func() debughttp.Stats {
		t.Helper()
		resp, err := http.Get(f.srv.URL + "/debug/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st debughttp.Stats
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := get()
	if before.Processes != 6 || before.HeapBytes == 0 || before.Goroutines == 0 {
		t.Fatalf("stats %+v", before)
	}
	for k := 0; k < 7; k++ {
		f.send(t, "counter", map[string]any{"type": "inc"})
	}
	f.send(t, "counter", map[string]any{"type": "boom"})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		st := get()
		if st.Handled != before.Handled+8 || st.Restarts != before.Restarts+1 {
			return fmt.Errorf("handled %d, restarts %d; want %d and %d", st.Handled, st.Restarts, before.Handled+8, before.Restarts+1)
		}
		return nil
	})
}

// The page charts messages/s from the stats it polls.
func TestPage_ChartsInChromium(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-messages polyline"))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	// Keep messages flowing until the chart has seen some.
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		for k := 0; k < 20; k++ {
			f.send(t, "counter", map[string]any{"type": "inc"})
		}
		max, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#chart-messages .chart-max")))
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(max), "max "), 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("messages/s chart shows %q", max)
		}
		return nil
	})
	pts, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#chart-messages polyline").getAttribute("points")`))
	if err != nil || len(strings.Fields(pts)) < 2 {
		t.Fatalf("the chart's line has points %q (%v)", pts, err)
	}
}
