package isolate

import (
	"runtime"
	"testing"
)

// holdRefill waits for a refill under way to end and then claims the
// refill for the test, so that no other goroutine fills the pool.
func holdRefill() {
	for !refilling.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
}

// drainBlanks empties the pool.
func drainBlanks() {
	for len(blankPool) > 0 {
		<-blankPool
	}
}

func TestRefillBlanks_FillsThePoolAndLetsGo(t *testing.T) {
	holdRefill()
	drainBlanks()
	refillBlanks()
	if got, want := len(blankPool), cap(blankPool); got != want {
		t.Errorf("the pool holds %d blank isolates after a refill, want %d", got, want)
	}
	if refilling.Load() {
		t.Error("refilling is still set after the refill ended: no take would start another")
	}
}

func TestTakeBlank_StartsNoRefillWhileOneRuns(t *testing.T) {
	holdRefill() // as if a refill were under way
	defer refilling.Store(false)
	drainBlanks()
	before := runtime.NumGoroutine()
	for range 3 * cap(blankPool) {
		if _, err := takeBlank(); err != nil {
			t.Fatal(err)
		}
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("%d goroutines after takes while a refill ran, %d before: a take started another refill", got, before)
	}
	if got := len(blankPool); got != 0 {
		t.Errorf("the pool holds %d blank isolates that no refill made", got)
	}
}
