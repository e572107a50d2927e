package bench

import (
	"context"
	"flag"
	"fmt"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/storage"
	"github.com/cloister-rt/cloister/supervisor"
)

var storageWindow = flag.Duration("storagewindow", 3*time.Second, "how long BenchmarkStorageTurns and BenchmarkStorageRaw count commits")

// schedCounts are scheduler events so far: goroutines created, goroutine
// wake-ups (runnable to running, which the runtime samples one in 8 of),
// the process's OS thread context switches, and heap allocations.
type schedCounts struct {
	created, wakeups float64
	csw              int64
	allocs, bytes    float64
}

func readSched() schedCounts {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}, {Name: "/sched/latencies:seconds"},
		{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	var c schedCounts
	if s[2].Value.Kind() == metrics.KindUint64 && s[3].Value.Kind() == metrics.KindUint64 {
		c.allocs, c.bytes = float64(s[2].Value.Uint64()), float64(s[3].Value.Uint64())
	}
	if s[0].Value.Kind() == metrics.KindUint64 {
		c.created = float64(s[0].Value.Uint64())
	}
	if s[1].Value.Kind() == metrics.KindFloat64Histogram {
		for _, n := range s[1].Value.Float64Histogram().Counts {
			c.wakeups += float64(n)
		}
		c.wakeups *= 8 // the runtime records one scheduling in 8
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.csw = ru.Nvcsw + ru.Nivcsw
	}
	return c
}

// benchStorageSide runs one side of the storage benchmark for
// -storagewindow and reports its CPU time and scheduler events per
// commit. For a profile of one side alone:
//
//	go test -run X -bench StorageTurns -benchtime 1x -cpuprofile turns.pprof ./internal/bench/
func benchStorageSide(b *testing.B, run func(StorageOptions) (side, error)) {
	o := StorageOptions{Window: *storageWindow, Dir: b.TempDir()}.withDefaults()
	var s side
	var before, after schedCounts
	for b.Loop() {
		before = readSched()
		var err error
		if s, err = run(o); err != nil {
			b.Fatal(err)
		}
		after = readSched()
	}
	// The counts span warm-up and window both: per commit, over the
	// commits of both at the window's rate.
	n := s.perSec * (o.Warmup + o.Window).Seconds()
	b.ReportMetric(s.perSec, "commits/s")
	b.ReportMetric(s.cpuUS, "cpu-µs/commit")
	b.ReportMetric(s.busy, "busy")
	if n > 0 {
		b.ReportMetric((after.created-before.created)/n, "goroutines/commit")
		b.ReportMetric((after.wakeups-before.wakeups)/n, "wakeups/commit")
		b.ReportMetric(float64(after.csw-before.csw)/n, "csw/commit")
		b.ReportMetric((after.allocs-before.allocs)/n, "allocs/commit")
		b.ReportMetric((after.bytes-before.bytes)/n, "B/commit")
	}
}

func BenchmarkStorageTurns(b *testing.B) { benchStorageSide(b, storageTurns) }
func BenchmarkStorageRaw(b *testing.B)   { benchStorageSide(b, rawPebble) }

// selfSendTurns is the storage turns' control: the same self-sending
// turns by workers without storage (no put, no commit, no gate), counted
// by the turns their processes handled.
func selfSendTurns(o StorageOptions) (side, error) {
	n, err := actor.NewNode(actor.Options{Limits: isolate.Limits{CPU: 5 * time.Second}})
	if err != nil {
		return side{}, err
	}
	defer n.Shutdown(context.Background())
	s := compile("self.js", `export function receive(msg, ctx) { ctx.self.send({type: "run", i: msg.i + 1}); }`)
	var children []actor.ChildSpec
	for a := 0; a < o.Actors; a++ {
		children = append(children, actor.ChildSpec{Name: "s" + strconv.Itoa(a), Script: s})
	}
	if err := n.Start(actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: children}); err != nil {
		return side{}, err
	}
	var procs []*actor.Process
	for a := 0; a < o.Actors; a++ {
		c, err := n.Capability("s"+strconv.Itoa(a), capability.Send)
		if err != nil {
			return side{}, err
		}
		if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(mustMarshal(map[string]any{"type": "run", "i": 1}), nil)); err != nil {
			return side{}, err
		}
		p, ok := n.Lookup("s" + strconv.Itoa(a))
		if !ok {
			return side{}, fmt.Errorf("no process s%d", a)
		}
		procs = append(procs, p)
	}
	return window(o, func() (int64, error) {
		var sum int64
		for _, p := range procs {
			sum += int64(p.Handled())
		}
		return sum, nil
	})
}

func BenchmarkSelfSendTurns(b *testing.B) { benchStorageSide(b, selfSendTurns) }

// BenchmarkStorageTurnsMemory is BenchmarkStorageTurns on the memory
// backend: the turns without a disk to wait for.
func BenchmarkStorageTurnsMemory(b *testing.B) {
	benchStorageSide(b, func(o StorageOptions) (side, error) { return storageTurnsOn(storage.NewMemory(), o) })
}

// slowMemory is the memory backend with commits that wait for a syncer,
// which completes the waiting commits together every 300 µs, as a disk
// that groups syncs would.
type slowMemory struct {
	*storage.Memory
	mu      sync.Mutex
	waiting []chan struct{}
}

func (m *slowMemory) Commit(slot string, b *storage.Batch) error {
	if err := m.Memory.Commit(slot, b); err != nil {
		return err
	}
	c := make(chan struct{})
	m.mu.Lock()
	m.waiting = append(m.waiting, c)
	m.mu.Unlock()
	<-c
	return nil
}

func BenchmarkStorageTurnsSlowMemory(b *testing.B) {
	benchStorageSide(b, func(o StorageOptions) (side, error) {
		m := &slowMemory{Memory: storage.NewMemory()}
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTicker(300 * time.Microsecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				m.mu.Lock()
				w := m.waiting
				m.waiting = nil
				m.mu.Unlock()
				for _, c := range w {
					close(c)
				}
			}
		}()
		return storageTurnsOn(m, o)
	})
}
