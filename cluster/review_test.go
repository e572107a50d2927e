package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/testkit"
)

// A peer that announces a new incarnation with every message would make
// the node drop everything it holds of that peer (PeerDown reads every
// table of the node) as fast as it can publish. A node takes a new
// incarnation of a peer at most once a heartbeat interval; the others
// are dropped as stale, and counted.
func TestReview_IncarnationFloodIsThrottled(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	tune := Config{Heartbeat: time.Second, DeadAfter: time.Hour}
	a, ra := c.start("a", tune)
	evil := c.hostile("b")
	const flood = 500
	start := time.Now()
	for i := range flood {
		if err := evil.nc.Publish("cloister.hb.b", appendHeartbeat(nil, uint64(1000+i), false)); err != nil {
			t.Fatal(err)
		}
	}
	if err := evil.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ups := func() int {
		k := 0
		for _, e := range ra.eventList() {
			if e.up && e.peer == "b" {
				k++
			}
		}
		return k
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := uint64(ups()) + a.Stats().DropsStale; got < flood {
			return fmt.Errorf("%d of %d heartbeats handled", got, flood)
		}
		return nil
	})
	// One new incarnation per interval, and one at the start.
	if k, most := ups(), int(time.Since(start)/tune.Heartbeat)+2; k > most {
		t.Fatalf("node a took %d incarnations of b in %v, want at most %d", k, time.Since(start), most)
	}
}
