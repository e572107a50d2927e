package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"
)

// NoisyCase is one noisy-neighbour measurement: the well-behaved tenant's
// call() latency beside one kind of offender.
type NoisyCase struct {
	Name       string  `json:"name"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
	P99Ratio   float64 `json:"p99_ratio"` // P99US over the quiet case's P99US
	PeakHeapMB float64 `json:"peak_heap_mib"`
	Crashes    int     `json:"offender_crashes"`
	Note       string  `json:"note,omitempty"`
}

// NoisyResult is the noisy-neighbour benchmark: the quiet case first.
type NoisyResult struct {
	Calls      int         `json:"calls"`
	Runs       int         `json:"runs"`
	GOMAXPROCS int         `json:"gomaxprocs"`
	Cases      []NoisyCase `json:"cases"`
}

const noisyCalls = 2000

const noisyVictimJS = `
let n = 0;
export function receive(msg) { n++; return {n, echo: msg.i}; }`

const noisySpinnerJS = `
export function init(args, ctx) { ctx.self.send({}); }
export function receive() { for (;;) {} }`

const noisyFlooderJS = `
export function init(args, ctx) { ctx.self.send({}); }
export function receive(msg, ctx) {
  for (let i = 0; i < 500; i++) { try { ctx.env.sink.send({i, pad: "x".repeat(100)}); } catch (e) {} }
  ctx.self.send({});
}`

const noisySinkJS = `
let n = 0;
export function receive() { n++; }`

const noisyBomberJS = `
const keep = [];
export function init(args, ctx) { ctx.self.send({}); }
export function receive(msg, ctx) {
  for (let i = 0; i < 20000; i++) keep.push({i, s: "x" + i});
  ctx.self.send({});
}`

const noisySpawnerJS = `
export function init(args, ctx) { ctx.self.send({}); }
export async function receive(msg, ctx) {
  for (let i = 0; i < 50; i++) { try { await ctx.env.pool.spawn({}); } catch (e) {} }
  ctx.self.send({});
}`

const noisyPoolChildJS = `
const keep = [];
export function init() { for (let i = 0; i < 1000; i++) keep.push({i}); }
export function receive() {}`

// Noisy measures a well-behaved tenant's call() latency alone and beside
// each kind of noisy neighbour: a while(true) tenant restarted after every
// crash, a flooder, a memory bomber, and a spawn-bomber. Each case runs
// runs times; the reported percentiles are medians over the runs.
func Noisy(ctx context.Context, runs int) (NoisyResult, error) {
	if runs <= 0 {
		runs = 3
	}
	r := NoisyResult{Calls: noisyCalls, Runs: runs, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	victim := compile("victim.js", noisyVictimJS)
	offenders := []struct {
		name, note string
		specs      func() []actor.ChildSpec
	}{
		{"quiet", "", func() []actor.ChildSpec { return nil }},
		{"while(true)", "cpu 50ms, restarted on every crash", func() []actor.ChildSpec {
			return []actor.ChildSpec{{Name: "offender", Script: compile("spin.js", noisySpinnerJS)}}
		}},
		{"flooder", "500 sends per turn to a sink", func() []actor.ChildSpec {
			return []actor.ChildSpec{
				{Name: "sink", Script: compile("sink.js", noisySinkJS)},
				{Name: "offender", Script: compile("flood.js", noisyFlooderJS),
					Grants: []actor.GrantSpec{{Name: "sink", To: "sink", Rights: capability.Send}}},
			}
		}},
		{"memory bomber", "memory 32MiB, grows until memory_limit, restarted", func() []actor.ChildSpec {
			return []actor.ChildSpec{{Name: "offender", Script: compile("bomb.js", noisyBomberJS),
				Limits: isolate.Limits{Memory: 32 << 20}}}
		}},
		{"spawn bomber", "spawns children of a template until its limit (500)", func() []actor.ChildSpec {
			tmpl := actor.ChildSpec{Script: compile("child.js", noisyPoolChildJS), Restart: actor.Temporary}
			return []actor.ChildSpec{
				{Name: "pool", Strategy: supervisor.NewOneForOne(1_000_000, time.Second), Template: &tmpl, MaxChildren: 500},
				{Name: "offender", Script: compile("spawner.js", noisySpawnerJS),
					Grants: []actor.GrantSpec{{Name: "pool", To: "pool", Rights: capability.Spawn}}},
			}
		}},
	}
	var quietP99 float64
	for _, o := range offenders {
		var p50s, p99s, peaks []float64
		crashes := 0
		for run := 0; run < runs; run++ {
			if err := ctx.Err(); err != nil {
				return r, err
			}
			p50, p99, peak, nc, err := noisyRun(victim, o.specs())
			if err != nil {
				return r, fmt.Errorf("noisy %s: %w", o.name, err)
			}
			p50s, p99s, peaks = append(p50s, p50), append(p99s, p99), append(peaks, peak)
			crashes += nc
		}
		c := NoisyCase{Name: o.name, P50US: medianOf(p50s), P99US: medianOf(p99s),
			PeakHeapMB: slices.Max(peaks), Crashes: crashes, Note: o.note}
		if o.name == "quiet" {
			quietP99 = c.P99US
		}
		c.P99Ratio = c.P99US / quietP99
		r.Cases = append(r.Cases, c)
	}
	return r, nil
}

// noisyRun starts the victim beside others, lets the offenders warm up,
// then times noisyCalls sequential calls to the victim while sampling the
// process's heap.
func noisyRun(victim *isolate.Script, others []actor.ChildSpec) (p50, p99, peakMiB float64, crashes int, err error) {
	runtime.GC()
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	var nc atomic.Int64
	n.Subscribe(func(e actor.Event) {
		if _, ok := e.(actor.Crashed); ok {
			nc.Add(1)
		}
	})
	children := append([]actor.ChildSpec{{Name: "victim", Script: victim}}, others...)
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1_000_000, time.Second), Children: children}
	if err := n.Start(root); err != nil {
		return 0, 0, 0, 0, err
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	c, err := n.Capability("victim", capability.Send)
	if err != nil {
		return 0, 0, 0, 0, err
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak atomic.Uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(s)
			if h := s[0].Value.Uint64(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	time.Sleep(200 * time.Millisecond) // let the offenders get going
	lat := make([]float64, 0, noisyCalls)
	for k := 0; k < noisyCalls; k++ {
		msg := mustMarshal(map[string]any{"i": k})
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t := time.Now()
		_, err := n.CallEnvelope(cctx, c, mailbox.NewEnvelope(msg, nil))
		d := time.Since(t)
		cancel()
		if err != nil {
			return 0, 0, 0, 0, fmt.Errorf("victim call %d: %w", k, err)
		}
		lat = append(lat, us(d))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return pct(0.50), pct(0.99), float64(peak.Load()) / (1 << 20), int(nc.Load()), nil
}
