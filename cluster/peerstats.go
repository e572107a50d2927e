package cluster

import (
	"slices"
	"strings"
	"sync/atomic"
)

// peerCounters are one peer's share of the transport's counters. A peer
// is never dropped from the table, so they only grow, across its
// incarnations.
type peerCounters struct {
	framesOut, bytesOut atomic.Uint64
	framesIn, bytesIn   atomic.Uint64
	refusedBackpressure atomic.Uint64
	windowStalls        atomic.Uint64
	losses              atomic.Uint64
}

// PeerStats is a snapshot of what a transport knows of one peer node. The
// counters cover every incarnation of the peer since Dial.
type PeerStats struct {
	Name        string
	Incarnation uint64 // the running incarnation, or the last one seen when down
	Up          bool

	FramesOut, BytesOut uint64 // published to it: frames, batch bytes
	FramesIn, BytesIn   uint64 // received from it and delivered: frames, batch bytes

	RefusedBackpressure uint64 // Send calls to it refused with ErrBackpressure
	WindowStalls        uint64 // times its window was full with frames waiting
	Losses              uint64 // times an incarnation of it was lost (silent, left, or replaced)

	Queued      int  // frames waiting to be published to it now
	QueuedBytes int  // and their bytes
	Stalled     bool // its window is full now, with frames waiting
}

// PeerStats returns a snapshot of every peer the transport tracks, up or
// down, sorted by name. There are at most Config.MaxPeers.
func (t *Transport) PeerStats() []PeerStats {
	ps := t.peerList()
	out := make([]PeerStats, 0, len(ps))
	for _, p := range ps {
		s := PeerStats{
			Name:      p.name,
			FramesOut: p.st.framesOut.Load(), BytesOut: p.st.bytesOut.Load(),
			FramesIn: p.st.framesIn.Load(), BytesIn: p.st.bytesIn.Load(),
			RefusedBackpressure: p.st.refusedBackpressure.Load(),
			WindowStalls:        p.st.windowStalls.Load(),
			Losses:              p.st.losses.Load(),
		}
		p.mu.Lock()
		s.Incarnation, s.Up = p.inc, p.up
		s.Queued, s.QueuedBytes, s.Stalled = len(p.qlens)-p.head, p.qBytes, p.stalled
		p.mu.Unlock()
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b PeerStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}
