package actor

import (
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// A pinned run yields its goroutine by time, not by count: none in a run
// shorter than the slice, one at least once a run has gone on past it;
// a new run (a new pin) starts a new count.
func TestRunSlice_YieldsByTime(t *testing.T) {
	var r runSlice
	pin := isolate.PinThread()
	defer pin.Unpin()
	r.next(nil) // not pinned: nothing counted
	if r.n != 0 {
		t.Fatalf("an unpinned message was counted: %d", r.n)
	}
	for k := 0; k < 10*yieldCheck; k++ {
		r.next(pin)
	}
	if r.yields != 0 && time.Since(r.since) < yieldEvery {
		t.Fatalf("%d yields within one slice", r.yields)
	}
	start := time.Now()
	for k := 0; r.yields == 0; k++ {
		if time.Since(start) > time.Minute {
			t.Fatalf("no yield after %d messages over a minute", k)
		}
		r.next(pin)
	}
	other := isolate.PinThread()
	defer other.Unpin()
	r.next(other)
	if r.pin != other || r.n != 1 {
		t.Fatalf("a new run did not start a new count: n = %d", r.n)
	}
}
