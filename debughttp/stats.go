package debughttp

import (
	"maps"
	"net/http"
	"runtime/metrics"
	"sort"
	"sync"
	"time"

	"github.com/cloister-rt/cloister/actor"
	cmetrics "github.com/cloister-rt/cloister/metrics"
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
	// Crashes counts the crashes by reason (metrics.Reason's bounded set)
	// since the endpoint was made, from the node's event stream.
	Crashes map[string]uint64 `json:"crashes"`
	// TopMemory are the topMemory processes holding the most memory by
	// their isolates' accounts (see actor.Process.Memory), most first.
	TopMemory []MemoryUse `json:"top_memory"`
}

// MemoryUse is one process's memory in Stats.TopMemory.
type MemoryUse struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// topMemory is how many processes Stats.TopMemory lists.
const topMemory = 5

// crashCount counts a node's crashes by reason from its event stream.
type crashCount struct {
	mu       sync.Mutex
	byReason map[string]uint64
}

// countCrashes subscribes to n's events; the subscription ends when the
// node shuts down.
func countCrashes(n *actor.Node) *crashCount {
	c := &crashCount{byReason: map[string]uint64{}}
	if n == nil {
		return c
	}
	n.Subscribe(func(e actor.Event) {
		if e, ok := e.(actor.Crashed); ok && e.Crash != nil {
			c.mu.Lock()
			c.byReason[cmetrics.Reason(e.Crash.Reason)]++
			c.mu.Unlock()
		}
	})
	return c
}

func (c *crashCount) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byReason)
}

// keepTop adds u to top, which holds at most topMemory entries, most first.
func keepTop(top []MemoryUse, u MemoryUse) []MemoryUse {
	i := sort.Search(len(top), func(i int) bool { return top[i].Bytes < u.Bytes })
	if i >= topMemory {
		return top
	}
	if len(top) < topMemory {
		top = append(top, MemoryUse{})
	}
	copy(top[i+1:], top[i:])
	top[i] = u
	return top
}

var statSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/sched/goroutines:goroutines"}}

// stats answers GET /debug/stats.
func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	root := s.cfg.Node.Root()
	if root == nil {
		fail(w, http.StatusServiceUnavailable, "node not started")
		return
	}
	st := Stats{Time: time.Now(), MaxMailbox: -1, Crashes: s.crashes.snapshot(), TopMemory: []MemoryUse{}}
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
		if m := p.Memory(); m > 0 {
			st.TopMemory = keepTop(st.TopMemory, MemoryUse{Path: p.Path(), Bytes: m})
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
