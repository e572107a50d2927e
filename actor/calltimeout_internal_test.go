package actor

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/isolate"
)

// The calls of one worker share a timer: each expires at its own
// deadline, in deadline order, an answered one never does, and answered
// entries do not pile up.
func TestCallWaits_ExpireInDeadlineOrder(t *testing.T) {
	p := &Process{}
	var c callWaits
	defer c.stop()
	c.add(p, 1, 1, time.Hour)
	c.add(p, 1, 2, -time.Second) // already due
	c.add(p, 1, 3, -2*time.Second)
	c.add(p, 1, 4, -time.Second)
	if !c.done(4) || c.done(4) {
		t.Fatal("an answered call is not taken out once")
	}
	var got []uint64
	c.expired(p, 1, func(id uint64, err error) {
		if !errors.Is(err, isolate.ErrCallTimeout) {
			t.Errorf("call %d failed with %v", id, err)
		}
		got = append(got, id)
	})
	if len(got) != 2 || got[0] != 3 || got[1] != 2 {
		t.Fatalf("expired %v, want [3 2]", got)
	}
	if _, ok := c.live[1]; !ok || c.at.IsZero() {
		t.Fatal("the call an hour away is not waiting, or the timer is not set for it")
	}
	for id := uint64(10); id < 10_000; id++ {
		c.add(p, 1, id, time.Hour)
		c.done(id)
	}
	if n := len(c.dues); n > 2*len(c.live)+16 {
		t.Fatalf("%d heap entries for %d waiting calls", n, len(c.live))
	}
}

// A call that is added and answered allocates nothing once the worker's
// set, heap and timer exist.
func TestCallWaits_AddAllocatesNothing(t *testing.T) {
	p := &Process{}
	var c callWaits
	defer c.stop()
	c.add(p, 1, 1, time.Hour) // the long wait keeps the timer's deadline first
	id := uint64(2)
	for ; id < 100; id++ {
		c.add(p, 1, id, time.Minute)
		c.done(id)
	}
	if n := testing.AllocsPerRun(1000, func() {
		c.add(p, 1, id, time.Minute)
		c.done(id)
		id++
	}); n != 0 {
		t.Errorf("%v allocations per call added and answered, want 0", n)
	}
}
