package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/internal/testkit"
)

// PeerStats counts what went to and came from each peer, and the losses
// of its incarnations, and the per-peer figures add up to Stats.
func TestTransport_PeerStats(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	a, _ := c.start("a", slow)
	b, rb := c.start("b", slow)
	cc, rc := c.start("c", slow)
	waitUp(t, a, b, cc)
	const n = 25
	for i := range n {
		if err := a.Send("b", sendFrame(uint64(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Send("c", sendFrame(1, "y")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got != n {
			return fmt.Errorf("b has %d of %d frames", got, n)
		}
		if got := len(rc.received("a")); got != 1 {
			return fmt.Errorf("c has %d of 1 frame", got)
		}
		return nil
	})
	byName := func(tr *Transport) map[string]PeerStats {
		m := make(map[string]PeerStats)
		for _, s := range tr.PeerStats() {
			m[s.Name] = s
		}
		return m
	}
	pa := byName(a)
	if len(pa) != 2 || pa["b"].FramesOut != n || pa["c"].FramesOut != 1 || !pa["b"].Up || pa["b"].Incarnation != b.Incarnation() {
		t.Fatalf("a's peers: %+v", pa)
	}
	st := a.Stats()
	if pa["b"].FramesOut+pa["c"].FramesOut != st.FramesOut || pa["b"].BytesOut+pa["c"].BytesOut != st.BytesOut {
		t.Errorf("per peer %+v does not add up to %+v", pa, st)
	}
	if pb := byName(b)["a"]; pb.FramesIn != n || pb.BytesIn != pa["b"].BytesOut || pb.FramesOut != 0 {
		t.Errorf("b's view of a: %+v; a sent %d bytes", pb, pa["b"].BytesOut)
	}

	// b leaves: a counts one loss of b and still lists it, down.
	binc := b.Incarnation()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		s := byName(a)["b"]
		if s.Up || s.Losses != 1 || s.Incarnation != binc || s.FramesOut != n {
			return fmt.Errorf("a's view of b after it left: %+v", s)
		}
		return nil
	})
	if s := byName(a)["c"]; !s.Up || s.Losses != 0 {
		t.Errorf("c: %+v", s)
	}
}
