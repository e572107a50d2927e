package debughttp

import (
	"net/http"
	"runtime/metrics"
	"time"

	"github.com/cloister-rt/cloister/actor"
)

// Stats is the answer of GET /debug/stats: the node's totals now, from
// which the page draws its charts (it keeps the history itself, so the
// endpoint keeps none).
type Stats struct {
	Time         time.Time `json:"time"`
	Processes    int       `json:"processes"`
	Handled      uint64    `json:"handled"`  // messages whose turn has started, by the live processes
	Restarts     uint64    `json:"restarts"` // restarts of the live processes
	MailboxDepth int64     `json:"mailbox_depth"`
	MaxMailbox   int64     `json:"max_mailbox"`    // the fullest mailbox
	MaxMailboxAt string    `json:"max_mailbox_at"` // and whose it is
	HeldTurns    int       `json:"held_turns"`     // turns holding their mailbox past the turn warning
	HeapBytes    uint64    `json:"heap_bytes"`     // the Go heap, every isolate included
	Goroutines   uint64    `json:"goroutines"`
}

var statSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/sched/goroutines:goroutines"}}

// stats answers GET /debug/stats.
func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	root := s.cfg.Node.Root()
	if root == nil {
		fail(w, http.StatusServiceUnavailable, "node not started")
		return
	}
	st := Stats{Time: time.Now(), MaxMailbox: -1}
	type frame struct {
		p     *actor.Process
		depth int
	}
	stack := []frame{{root, 0}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := f.p
		st.Processes++
		st.Handled += p.Handled()
		st.Restarts += p.Restarts()
		d := p.MailboxDepth()
		st.MailboxDepth += d
		if d > st.MaxMailbox {
			st.MaxMailbox, st.MaxMailboxAt = d, p.Path()
		}
		if !p.TurnHeldSince().IsZero() {
			st.HeldTurns++
		}
		if f.depth < maxTreeDepth {
			for _, ch := range p.Children() {
				stack = append(stack, frame{ch, f.depth + 1})
			}
		}
	}
	samples := make([]metrics.Sample, len(statSamples))
	copy(samples, statSamples)
	metrics.Read(samples)
	if v := samples[0].Value; v.Kind() == metrics.KindUint64 {
		st.HeapBytes = v.Uint64()
	}
	if v := samples[1].Value; v.Kind() == metrics.KindUint64 {
		st.Goroutines = v.Uint64()
	}
	writeJSON(w, http.StatusOK, st)
}
