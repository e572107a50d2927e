package metrics

import (
	"fmt"
	"testing"
)

// Peers past maxPeerLabels share the label "*"; a peer that has a label
// keeps it, so its counters never move between series.
func TestClusterCollector_PeerLabelsAreBounded(t *testing.T) {
	c := newClusterCollector(nil)
	for i := range maxPeerLabels {
		name := fmt.Sprintf("n%03d", i)
		if got := c.label(name); got != name {
			t.Fatalf("peer %d of %d is labelled %q", i+1, maxPeerLabels, got)
		}
	}
	if got := c.label("late"); got != otherPeers {
		t.Fatalf("a peer past the bound is labelled %q, want %q", got, otherPeers)
	}
	if got := c.label("late"); got != otherPeers {
		t.Fatalf("asked again, %q", got)
	}
	if got := c.label("n000"); got != "n000" {
		t.Fatalf("a labelled peer lost its label: %q", got)
	}
	if len(c.labelled) != maxPeerLabels {
		t.Fatalf("%d peers labelled", len(c.labelled))
	}
}
