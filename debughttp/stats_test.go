package debughttp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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
		if st.Crashes["error"] != before.Crashes["error"]+1 {
			return fmt.Errorf("crashes by reason %v, before %v", st.Crashes, before.Crashes)
		}
		return nil
	})
	// The top actors by memory: the four JS workers, most first. The
	// restarted counter's new incarnation is listed once its memory is
	// known, which can come after the restart is counted.
	var st debughttp.Stats
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if st = get(); len(st.TopMemory) != 4 {
			return fmt.Errorf("top memory %+v, want the four JS workers", st.TopMemory)
		}
		return nil
	})
	for i, m := range st.TopMemory {
		if m.Bytes <= 0 || m.Path == "" || (i > 0 && st.TopMemory[i-1].Bytes < m.Bytes) {
			t.Fatalf("top memory %+v", st.TopMemory)
		}
	}
}

// The crashes chart names each reason with its count in the window, and
// the memory chart draws the node's heap and the top actors.
func TestPage_CrashAndMemoryChartsInChromium(t *testing.T) {
	f := start(t, debughttp.Config{Token: token})
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-crashes svg"))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	// The page counts crashes between its samples: crash after it has
	// taken its first.
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`samples.length`))
		if err != nil || n < 1 {
			return fmt.Errorf("samples %d (%v)", n, err)
		}
		return nil
	})
	for k := 0; k < 3; k++ {
		f.send(t, "counter", map[string]any{"type": "boom"})
	}
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		legend, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#chart-crashes .chart-legend")))
		if err != nil {
			return err
		}
		if !strings.Contains(legend, "error 3") {
			return fmt.Errorf("crashes legend %q", legend)
		}
		return nil
	})
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("#chart-memory polyline")].map((l) => l.dataset.series)`))
		if err != nil {
			return err
		}
		if len(names) != 5 || names[0] != "node heap" || !slices.Contains(names, "counter") {
			return fmt.Errorf("memory lines %q", names)
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
