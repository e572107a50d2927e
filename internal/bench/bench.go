// Package bench measures a node the way `cloister bench` reports it: spawn
// cost, idle memory, one-way throughput, call roundtrip and restart latency,
// each beside a plain protoactor-go baseline measured in the same run.
//
// Every measurement ends on evidence that the work it names has happened:
// spawn ends when every actor has run init and started a turn, throughput
// when every message's turn has started, restart when the new incarnation
// has answered the message queued behind the crash.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/vmihailenco/msgpack/v5"
)

// Options size a run.
type Options struct {
	Runs        int // repetitions; results are medians
	SpawnActors int // actors per spawn measurement
	IdleActors  int // live actors for the memory measurement
	IdleRuns    int // repetitions of the memory measurement (it is the slowest)
	Messages    int // one-way messages per pair per run
	Pairs       int
	Calls       int // sequential calls per roundtrip run
	Restarts    int // crashes per restart-latency run

	// NoCaps skips the capability benchmarks (caps.go), which have fixed
	// sizes of their own.
	NoCaps bool

	// Progress, if set, gets one line per finished measurement.
	Progress io.Writer
}

// Defaults are the sizes `cloister bench` uses: two to three minutes on an
// idle 2-core machine, most of it starting the 100,000 idle actors. Memory
// per actor varies by about 1% between runs and sizes, so it runs once.
var Defaults = Options{Runs: 5, SpawnActors: 2000, IdleActors: 100_000, IdleRuns: 1,
	Messages: 200_000, Pairs: 2, Calls: 20_000, Restarts: 500}

// Quick are the sizes of `cloister bench --quick`: a few seconds, noisier.
var Quick = Options{Runs: 3, SpawnActors: 1000, IdleActors: 10_000, IdleRuns: 1,
	Messages: 50_000, Pairs: 2, Calls: 5_000, Restarts: 100}

// Result holds medians. JSON keys are the ones the issue tracker expects.
type Result struct {
	SpawnUS                float64 `json:"spawn_us"`
	BaselineSpawnUS        float64 `json:"baseline_spawn_us"`
	IdleActorBytes         float64 `json:"idle_actor_bytes"`
	BaselineIdleActorBytes float64 `json:"baseline_idle_actor_bytes"`
	MsgsPerSec             float64 `json:"msgs_per_sec"`
	BaselineMsgsPerSec     float64 `json:"baseline_msgs_per_sec"`
	CallRoundtripUS        float64 `json:"call_roundtrip_us"`
	BaselineCallRoundtrip  float64 `json:"baseline_call_roundtrip_us"`
	RestartUS              float64 `json:"restart_us"`
	BaselineRestartUS      float64 `json:"baseline_restart_us"`

	// The capability benchmarks (caps.go): the share of a JS send spent in
	// capability checks, and the cost of a message carrying ten
	// capabilities over one carrying none. CapsError is set, and the rest
	// of the result kept, if they could not run.
	SendCheckOverheadPct float64     `json:"send_check_overhead_pct"`
	CapsTransferRatio    float64     `json:"caps_transfer_ratio"`
	Caps                 *CapsResult `json:"caps,omitempty"`
	CapsError            string      `json:"caps_error,omitempty"`

	// The conditions of the run: medians drift with the machine's load.
	Runs       int     `json:"runs"`
	IdleActors int     `json:"idle_actors"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	LoadBefore float64 `json:"load_before"` // 1-minute load average, 0 if unknown
	LoadAfter  float64 `json:"load_after"`
}

// counterJS is the idle actor of the spawn and memory measurements and the
// server of the roundtrip and throughput ones.
const counterJS = `
let count = 0;
export function init(args) { count = args?.start ?? 0; }
export function receive(msg) {
  if (msg.type === "inc") { count += msg.by ?? 1; return count; }
  if (msg.type === "get") return count;
}`

// sourceJS sends msg.n messages to its peer, 100 per turn, so that other
// actors get turns meanwhile. When the peer's mailbox is full (the node's
// default bound, with the reject policy) it backs off for a millisecond and
// resumes where it stopped, as a well-behaved tenant would.
const sourceJS = `
const m = {type: "inc", by: 1};
function burst(n, from, ctx) {
  const end = Math.min(n, from + 100);
  let i = from;
  try {
    for (; i < end; i++) ctx.env.peer.send(m);
  } catch (e) {
    if (e.name !== "MailboxFull") throw e;
    setTimeout(() => burst(n, i, ctx), 1);
    return;
  }
  if (end < n) ctx.self.send({type: "go", n, from: end});
}
export function receive(msg, ctx) {
  if (msg.type === "go") burst(msg.n, msg.from, ctx);
}`

const clientJS = `
export async function receive(msg, ctx) {
  for (let i = 0; i < msg.n; i++) await ctx.env.peer.call({type: "inc"});
  return msg.n;
}`

// crasherJS throws on "boom" and answers anything else.
const crasherJS = `
let n = 0;
export function init() { n = 0; }
export function receive(msg) {
  if (msg.type === "boom") throw new Error("boom");
  return ++n;
}`

// turnLimit is the per-turn time limit of every node the harness starts.
// The limit is wall time: when thousands of actors start at once on two
// cores, or the machine is busy, a turn can wait tens of milliseconds for a
// CPU and trip the default 50 ms limit although it used microseconds of CPU
// (see docs/benchmarks.md). The watchdog is armed on every turn all the
// same, so its cost is measured; a spurious interrupt is not.
var turnLimit = isolate.Limits{CPU: time.Minute}

// Run measures everything and returns the medians.
func Run(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	r := Result{Runs: o.Runs, IdleActors: o.IdleActors, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadBefore: loadAvg()}
	steps := []struct {
		name string
		runs int
		dst  *float64
		f    func() (float64, error)
	}{
		{"spawn", o.Runs, &r.SpawnUS, func() (float64, error) { return SpawnJS(o.SpawnActors) }},
		{"baseline spawn", o.Runs, &r.BaselineSpawnUS, func() (float64, error) { return SpawnGo(o.SpawnActors) }},
		{"idle memory", o.IdleRuns, &r.IdleActorBytes, func() (float64, error) { return IdleJS(o.IdleActors) }},
		{"baseline idle memory", o.IdleRuns, &r.BaselineIdleActorBytes, func() (float64, error) { return IdleGo(o.IdleActors) }},
		{"throughput", o.Runs, &r.MsgsPerSec, func() (float64, error) { return ThroughputJS(o.Pairs, o.Messages) }},
		{"baseline throughput", o.Runs, &r.BaselineMsgsPerSec, func() (float64, error) { return ThroughputGo(o.Pairs, o.Messages) }},
		{"call roundtrip", o.Runs, &r.CallRoundtripUS, func() (float64, error) { return RoundtripJS(o.Calls) }},
		{"baseline call roundtrip", o.Runs, &r.BaselineCallRoundtrip, func() (float64, error) { return RoundtripGo(o.Calls) }},
		{"restart", o.Runs, &r.RestartUS, func() (float64, error) { return RestartJS(o.Restarts) }},
		{"baseline restart", o.Runs, &r.BaselineRestartUS, func() (float64, error) { return RestartGo(o.Restarts) }},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		start := time.Now()
		v, err := median(s.runs, s.f)
		if err != nil {
			return r, fmt.Errorf("%s: %w", s.name, err)
		}
		*s.dst = v
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "bench: %-24s %12.2f  (%d runs, %.1fs, load %.2f)\n",
				s.name, v, s.runs, time.Since(start).Seconds(), loadAvg())
		}
	}
	if o.NoCaps {
		r.LoadAfter = loadAvg()
		return r, ctx.Err()
	}
	start := time.Now()
	if c, err := Caps(ctx, o.Runs); err != nil {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		r.CapsError = err.Error()
	} else {
		r.Caps, r.SendCheckOverheadPct, r.CapsTransferRatio = &c, c.CheckOverheadPct, c.TransferRatio
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: %-24s %12.2f  (%d runs, %.1fs, load %.2f)\n",
			"capability checks %", r.SendCheckOverheadPct, o.Runs, time.Since(start).Seconds(), loadAvg())
	}
	r.LoadAfter = loadAvg()
	return r, ctx.Err()
}

func (o Options) withDefaults() Options {
	d := Defaults
	for _, f := range []struct{ v, def *int }{
		{&o.Runs, &d.Runs}, {&o.SpawnActors, &d.SpawnActors}, {&o.IdleActors, &d.IdleActors},
		{&o.IdleRuns, &d.IdleRuns}, {&o.Messages, &d.Messages}, {&o.Pairs, &d.Pairs},
		{&o.Calls, &d.Calls}, {&o.Restarts, &d.Restarts},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return o
}

// loadAvg returns the 1-minute load average, or 0 where it is unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func median(runs int, f func() (float64, error)) (float64, error) {
	if runs < 1 {
		runs = 1
	}
	vals := make([]float64, 0, runs)
	for i := 0; i < runs; i++ {
		v, err := f()
		if err != nil {
			return 0, err
		}
		vals = append(vals, v)
	}
	return medianOf(vals), nil
}

func medianOf(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	sort.Float64s(vals)
	m := len(vals) / 2
	if len(vals)%2 == 0 {
		return (vals[m-1] + vals[m]) / 2
	}
	return vals[m]
}

func compile(name, src string) *isolate.Script {
	s, err := isolate.Compile(name, []byte(src))
	if err != nil {
		panic(err) // the sources above are constants
	}
	return s
}

func mustMarshal(v any) []byte {
	b, err := msgpack.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	getMsg  = mustMarshal(map[string]any{"type": "get"})
	boomMsg = mustMarshal(map[string]any{"type": "boom"})
)

// quiet discards protoactor's own log lines without formatting them.
var quiet = slog.New(slog.DiscardHandler)

func goSystem() *proto.ActorSystem {
	return proto.NewActorSystem(proto.WithLoggerFactory(func(*proto.ActorSystem) *slog.Logger { return quiet }))
}

// node is a started node with a watch on its crashes.
type node struct {
	*actor.Node
	mu    sync.Mutex
	crash *actor.Crash // the first crash, if any
}

// err returns the first crash as an error, or nil.
func (n *node) err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.crash != nil {
		return fmt.Errorf("unexpected crash: %w", n.crash)
	}
	select {
	case <-n.Failed():
		return errors.New("the root supervisor failed")
	default:
		return nil
	}
}

func (n *node) stop() { _ = n.Shutdown(context.Background()) }

// tree starts a node with children under a one_for_one root that tolerates
// no restart: any crash is a measurement error, reported with its reason.
// It returns once every child has run init, with the time that took.
//
// protoactor runs a worker's Started (isolate + module + init) and then its
// queued messages on the same goroutine, so a child's first message turn
// starting (Process.Handled) proves its init has finished. tree sends each
// child one {type:"get"} as that witness; its cost is inside the figure,
// as one message is inside the Go baseline's.
func tree(children []actor.ChildSpec) (*node, time.Duration, error) {
	an, err := actor.NewNode(actor.Options{Limits: turnLimit})
	if err != nil {
		return nil, 0, err
	}
	n := &node{Node: an}
	n.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok {
			n.mu.Lock()
			if n.crash == nil {
				n.crash = c.Crash
			}
			n.mu.Unlock()
		}
	})
	start := time.Now()
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: children}
	if err := n.Start(root); err != nil {
		n.stop()
		return nil, 0, err
	}
	procs := make([]*actor.Process, len(children))
	for i, cs := range children {
		p, _ := n.Lookup(cs.Name)
		procs[i] = p
		c, _ := n.Capability(cs.Name, capability.Send)
		if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(getMsg, nil)); err != nil {
			n.stop()
			return nil, 0, fmt.Errorf("witness to %q: %w (%v)", cs.Name, err, n.err())
		}
	}
	if err := n.waitHandled(procs, 1); err != nil {
		n.stop()
		return nil, 0, err
	}
	return n, time.Since(start), nil
}

// waitHandled waits until every process has started at least want turns,
// or a crash ends the wait.
func (n *node) waitHandled(procs []*actor.Process, want uint64) error {
	deadline := time.Now().Add(5 * time.Minute)
	for i := 0; i < len(procs); {
		if procs[i].Handled() >= want {
			i++
			continue
		}
		if err := n.err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d actors reached turn %d", i, len(procs), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
	return n.err()
}

func counters(n int) []actor.ChildSpec {
	s := compile("counter.js", counterJS)
	args := mustMarshal(map[string]any{"start": 1})
	out := make([]actor.ChildSpec, n)
	for i := range out {
		out[i] = actor.ChildSpec{Name: "c" + strconv.Itoa(i), Script: s, Args: args}
	}
	return out
}

// SpawnJS starts count counter actors — each a fresh isolate running the
// shared compiled script and init — and returns µs per actor.
func SpawnJS(count int) (float64, error) {
	n, d, err := tree(counters(count))
	if err != nil {
		return 0, err
	}
	n.stop()
	return us(d) / float64(count), nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

type goCounter struct{ n int }

func (g *goCounter) Receive(c proto.Context) {
	switch m := c.Message().(type) {
	case int:
		g.n += m
		if c.Sender() != nil {
			c.Respond(g.n)
		}
	case *sync.WaitGroup:
		m.Done()
	}
}

// SpawnGo spawns count plain protoactor actors, each handling one message,
// and returns µs per actor.
func SpawnGo(count int) (float64, error) {
	sys := goSystem()
	defer sys.Shutdown()
	props := proto.PropsFromProducer(func() proto.Actor { return &goCounter{} })
	var wg sync.WaitGroup
	wg.Add(count)
	start := time.Now()
	for i := 0; i < count; i++ {
		pid := sys.Root.Spawn(props)
		sys.Root.Send(pid, &wg)
	}
	wg.Wait()
	return us(time.Since(start)) / float64(count), nil
}

// liveBytes is the heap and goroutine stacks still reachable after a full
// collection.
func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// idleShard is the most actors one node of the memory measurement starts.
// A supervisor starts its children one after another, each once the one
// before has run init, and Node.Start allows a minute for the whole tree;
// 100,000 children in one tree outlast that on this machine. Shards of
// 10,000, each its own node, GOMAXPROCS of them starting at a time and all
// kept alive together, hold the same idle actors; each node's own fixed
// cost is counted against its actors.
const idleShard = 10_000

// IdleJS starts count idle counter actors (init run, one message handled)
// and returns the live bytes they retain, per actor.
func IdleJS(count int) (float64, error) { return idleJS(count, nil) }

// idleJS is IdleJS; whileLive, if set, runs while the actors are alive.
func idleJS(count int, whileLive func()) (float64, error) {
	var shards [][]actor.ChildSpec
	for left := count; left > 0; left -= idleShard {
		shards = append(shards, counters(min(left, idleShard)))
	}
	before := liveBytes()
	nodes := make([]*node, len(shards))
	errs := make([]error, len(shards))
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.stop()
			}
		}
	}()
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, specs := range shards {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			nodes[k], _, errs[k] = tree(specs)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	after := liveBytes()
	runtime.KeepAlive(shards) // live at both readings: the harness's specs cancel out
	if whileLive != nil {
		whileLive()
	}
	return perActor(before, after, count), nil
}

func perActor(before, after uint64, count int) float64 {
	if after < before {
		return 0
	}
	return float64(after-before) / float64(count)
}

// IdleGo does the same with plain protoactor actors.
func IdleGo(count int) (float64, error) {
	sys := goSystem()
	defer sys.Shutdown()
	props := proto.PropsFromProducer(func() proto.Actor { return &goCounter{} })
	pids := make([]*proto.PID, count)
	before := liveBytes()
	var wg sync.WaitGroup
	wg.Add(count)
	for i := range pids {
		pids[i] = sys.Root.Spawn(props)
		sys.Root.Send(pids[i], &wg)
	}
	wg.Wait()
	after := liveBytes()
	runtime.KeepAlive(pids)
	return perActor(before, after, count), nil
}

// ThroughputJS runs pairs of JS actors, each source sending msgs one-way
// messages to its sink, and returns messages per second over all pairs,
// counted until the last message's turn has started in every sink.
func ThroughputJS(pairs, msgs int) (float64, error) {
	src, sink := compile("source.js", sourceJS), compile("counter.js", counterJS)
	var specs []actor.ChildSpec
	for p := 0; p < pairs; p++ {
		sinkName := "sink" + strconv.Itoa(p)
		specs = append(specs,
			actor.ChildSpec{Name: sinkName, Script: sink},
			actor.ChildSpec{Name: "source" + strconv.Itoa(p), Script: src,
				Grants: []actor.GrantSpec{{Name: "peer", To: sinkName, Rights: capability.Send}}})
	}
	n, _, err := tree(specs)
	if err != nil {
		return 0, err
	}
	defer n.stop()
	goMsg := mustMarshal(map[string]any{"type": "go", "n": msgs, "from": 0})
	sinks := make([]*actor.Process, pairs)
	start := time.Now()
	for p := 0; p < pairs; p++ {
		c, _ := n.Capability("source"+strconv.Itoa(p), capability.Send)
		if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(goMsg, nil)); err != nil {
			return 0, err
		}
		sinks[p], _ = n.Lookup("sink" + strconv.Itoa(p))
	}
	// Each sink has handled tree's witness message already.
	if err := n.waitHandled(sinks, uint64(msgs)+1); err != nil {
		return 0, err
	}
	return float64(pairs*msgs) / time.Since(start).Seconds(), nil
}

// ThroughputGo does the same with plain protoactor actors.
func ThroughputGo(pairs, msgs int) (float64, error) {
	sys := goSystem()
	defer sys.Shutdown()
	var wg sync.WaitGroup
	wg.Add(pairs)
	start := time.Now()
	for p := 0; p < pairs; p++ {
		remaining := msgs
		sink := sys.Root.Spawn(proto.PropsFromFunc(func(c proto.Context) {
			if _, ok := c.Message().(int); ok {
				remaining--
				if remaining == 0 {
					wg.Done()
				}
			}
		}))
		source := sys.Root.Spawn(proto.PropsFromFunc(func(c proto.Context) {
			if n, ok := c.Message().(string); ok && n == "go" {
				for i := 0; i < msgs; i++ {
					c.Send(sink, 1)
				}
			}
		}))
		sys.Root.Send(source, "go")
	}
	wg.Wait()
	return float64(pairs*msgs) / time.Since(start).Seconds(), nil
}

// RoundtripJS has one JS actor await calls to another, one at a time, and
// returns µs per call.
func RoundtripJS(calls int) (float64, error) {
	specs := []actor.ChildSpec{
		{Name: "server", Script: compile("counter.js", counterJS)},
		{Name: "client", Script: compile("client.js", clientJS),
			Grants: []actor.GrantSpec{{Name: "peer", To: "server", Rights: capability.Send}}},
	}
	n, _, err := tree(specs)
	if err != nil {
		return 0, err
	}
	defer n.stop()
	c, _ := n.Capability("client", capability.Send)
	msg := mustMarshal(map[string]any{"n": calls})
	start := time.Now()
	if _, err := n.CallEnvelope(context.Background(), c, mailbox.NewEnvelope(msg, nil)); err != nil {
		return 0, err
	}
	return us(time.Since(start)) / float64(calls), nil
}

// pingClient requests from server until n answers have come back.
type pingClient struct {
	server *proto.PID
	n      int
	done   chan struct{}
}

func (p *pingClient) Receive(c proto.Context) {
	switch c.Message().(type) {
	case string: // go
		c.Request(p.server, 1)
	case int:
		p.n--
		if p.n == 0 {
			close(p.done)
			return
		}
		c.Request(p.server, 1)
	}
}

// RoundtripGo does the same with plain protoactor actors: the client
// requests, the server responds, the client sends the next request.
func RoundtripGo(calls int) (float64, error) {
	sys := goSystem()
	defer sys.Shutdown()
	server := sys.Root.Spawn(proto.PropsFromProducer(func() proto.Actor { return &goCounter{} }))
	done := make(chan struct{})
	client := sys.Root.Spawn(proto.PropsFromProducer(func() proto.Actor {
		return &pingClient{server: server, n: calls, done: done}
	}))
	start := time.Now()
	sys.Root.Send(client, "go")
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		return 0, errors.New("roundtrip: timed out")
	}
	return us(time.Since(start)) / float64(calls), nil
}

// RestartJS crashes a supervised JS actor restarts times, each time with a
// call queued behind the crashing message, and returns the median µs from
// the crash (the crash report's time, taken in the failing turn) to the
// answer from the new incarnation: supervisor decision, fresh isolate,
// module, init and the next message's turn.
func RestartJS(restarts int) (float64, error) {
	an, err := actor.NewNode(actor.Options{Limits: turnLimit})
	if err != nil {
		return 0, err
	}
	defer func() { _ = an.Shutdown(context.Background()) }()
	crashes := make(chan time.Time, 1)
	an.Subscribe(func(e actor.Event) {
		if c, ok := e.(actor.Crashed); ok {
			select {
			case crashes <- c.Crash.Time:
			default:
			}
		}
	})
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(1<<30, time.Millisecond),
		Children: []actor.ChildSpec{{Name: "crasher", Script: compile("crasher.js", crasherJS)}}}
	if err := an.Start(root); err != nil {
		return 0, err
	}
	c, _ := an.Capability("crasher", capability.Send)
	ctx := context.Background()
	if _, err := an.CallEnvelope(ctx, c, mailbox.NewEnvelope(getMsg, nil)); err != nil {
		return 0, err
	}
	vals := make([]float64, 0, restarts)
	for i := 0; i < restarts; i++ {
		if err := an.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(boomMsg, nil)); err != nil {
			return 0, err
		}
		if _, err := an.CallEnvelope(ctx, c, mailbox.NewEnvelope(getMsg, nil)); err != nil {
			return 0, err
		}
		answered := time.Now()
		select {
		case crashed := <-crashes:
			vals = append(vals, us(answered.Sub(crashed)))
		case <-time.After(10 * time.Second):
			return 0, errors.New("no crash report")
		}
	}
	if got, want := an.Root().Children()[0].Incarnation(), uint64(restarts+1); got != want {
		return 0, fmt.Errorf("incarnation %d after %d restarts", got, restarts)
	}
	return medianOf(vals), nil
}

// goCrasher panics on "boom", noting when, and answers anything else.
type goCrasher struct{ crashed *atomic.Int64 }

func (g *goCrasher) Receive(c proto.Context) {
	switch c.Message().(type) {
	case string:
		g.crashed.Store(time.Now().UnixNano())
		panic("boom")
	case int:
		c.Respond(1)
	}
}

// RestartGo does the same with a plain protoactor actor under a
// one-for-one strategy: panic, restart, next request answered.
func RestartGo(restarts int) (float64, error) {
	sys := goSystem()
	defer sys.Shutdown()
	var crashed atomic.Int64
	strategy := proto.NewOneForOneStrategy(1<<30, time.Millisecond, proto.DefaultDecider)
	pid := sys.Root.WithGuardian(strategy).Spawn(proto.PropsFromProducer(func() proto.Actor {
		return &goCrasher{crashed: &crashed}
	}))
	vals := make([]float64, 0, restarts)
	for i := 0; i < restarts; i++ {
		sys.Root.Send(pid, "boom")
		if _, err := sys.Root.RequestFuture(pid, 1, 10*time.Second).Result(); err != nil {
			return 0, err
		}
		answered := time.Now().UnixNano()
		vals = append(vals, float64(answered-crashed.Load())/1e3)
	}
	return medianOf(vals), nil
}
