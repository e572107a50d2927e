package isolate_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// A turn that waits for a CPU is not charged for the wait: beside enough
// spinning goroutines to take most of the machine, a turn whose CPU work
// fits its limit finishes even when its wall time goes well past the limit.
func TestCPULimit_IsCPUTimeNotWallTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the CPU-time clock is read on Linux only")
	}
	const src = `export function receive(msg) { let x = 0; for (let i = 0; i < msg.n; i++) x += i % 7; return x; }`
	// Calibrate: the loop's time alone, with a generous limit.
	iso, _ := newIsolate(t, src, isolate.Limits{CPU: 10 * time.Second})
	n := 200_000
	var alone time.Duration
	for {
		start := time.Now()
		if o := turn(t, iso, map[string]any{"n": n}); o.Crash != nil {
			t.Fatal(o.Crash)
		}
		if alone = time.Since(start); alone >= 5*time.Millisecond || n > 1<<28 {
			break
		}
		n *= 2
	}
	limit := 3 * alone

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for k := 0; k < 4*runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()

	iso2, _ := newIsolate(t, src, isolate.Limits{CPU: limit})
	for try := 0; try < 5; try++ {
		start := time.Now()
		o := turn(t, iso2, map[string]any{"n": n})
		wall := time.Since(start)
		if errors.Is(o.Crash, isolate.ErrCPULimit) {
			t.Fatalf("a turn of %v CPU alone was interrupted at a %v limit after %v of wall time", alone, limit, wall)
		}
		if o.Crash != nil {
			t.Fatal(o.Crash)
		}
		if wall > limit {
			return // it waited for a CPU past its limit and was not charged for it
		}
	}
	t.Skip("the spinning goroutines did not slow the turn past its limit; nothing was shown")
}
