// Package bench measures a node the way `cloister bench` reports it: spawn
// cost, idle memory, one-way throughput and call roundtrip, each beside a
// plain protoactor-go baseline measured in the same run.
package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"cloister/actor"
	"cloister/capability"
	"cloister/isolate"
	"cloister/supervisor"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/vmihailenco/msgpack/v5"
)

// Options size a run.
type Options struct {
	Runs        int // repetitions; results are medians
	SpawnActors int // actors per spawn measurement
	IdleActors  int // live actors for the memory measurement
	Messages    int // one-way messages per pair per run
	Pairs       int
	Calls       int // sequential calls per roundtrip run
}

// Defaults are the sizes `cloister bench` uses.
var Defaults = Options{Runs: 5, SpawnActors: 2000, IdleActors: 100_000, Messages: 200_000, Pairs: 2, Calls: 20_000}

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
}

const counterJS = `
let count = 0;
export function init(args) { count = args?.start ?? 0; }
export function receive(msg) {
  if (msg.type === "inc") { count += msg.by ?? 1; return count; }
  if (msg.type === "get") return count;
}`

// sourceJS sends msg.n messages to its peer, 500 per turn, then tells the
// peer it is done.
const sourceJS = `
export function receive(msg, ctx) {
  if (msg.type !== "go") return;
  const m = {type: "inc", by: 1};
  const end = Math.min(msg.n, msg.from + 500);
  for (let i = msg.from; i < end; i++) ctx.env.peer.send(m);
  if (end < msg.n) ctx.self.send({type: "go", n: msg.n, from: end});
}`

const clientJS = `
export async function receive(msg, ctx) {
  for (let i = 0; i < msg.n; i++) await ctx.env.peer.call({type: "inc"});
  return msg.n;
}`

// Run measures everything and returns the medians.
func Run(ctx context.Context, o Options) (Result, error) {
	var r Result
	var err error
	if r.SpawnUS, err = median(o.Runs, func() (float64, error) { return spawnJS(o.SpawnActors) }); err != nil {
		return r, fmt.Errorf("spawn: %w", err)
	}
	if r.BaselineSpawnUS, err = median(o.Runs, func() (float64, error) { return spawnGo(o.SpawnActors) }); err != nil {
		return r, err
	}
	if r.IdleActorBytes, err = median(1, func() (float64, error) { return idleJS(o.IdleActors) }); err != nil {
		return r, fmt.Errorf("memory: %w", err)
	}
	if r.BaselineIdleActorBytes, err = median(1, func() (float64, error) { return idleGo(o.IdleActors) }); err != nil {
		return r, err
	}
	if r.MsgsPerSec, err = median(o.Runs, func() (float64, error) { return throughputJS(o.Pairs, o.Messages) }); err != nil {
		return r, fmt.Errorf("throughput: %w", err)
	}
	if r.BaselineMsgsPerSec, err = median(o.Runs, func() (float64, error) { return throughputGo(o.Pairs, o.Messages) }); err != nil {
		return r, err
	}
	if r.CallRoundtripUS, err = median(o.Runs, func() (float64, error) { return roundtripJS(o.Calls) }); err != nil {
		return r, fmt.Errorf("roundtrip: %w", err)
	}
	if r.BaselineCallRoundtrip, err = median(o.Runs, func() (float64, error) { return roundtripGo(o.Calls) }); err != nil {
		return r, err
	}
	return r, ctx.Err()
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
	sort.Float64s(vals)
	return vals[len(vals)/2], nil
}

func compile(name, src string) *isolate.Script {
	s, err := isolate.Compile(name, []byte(src))
	if err != nil {
		panic(err) // the sources above are constants
	}
	return s
}

// tree starts a node with children under a one_for_one root and waits until
// every worker has run init.
func tree(children []actor.ChildSpec) (*actor.Node, time.Duration, error) {
	n, err := actor.NewNode(actor.Options{})
	if err != nil {
		return nil, 0, err
	}
	var running atomic.Int64
	done := make(chan struct{})
	want := int64(len(children))
	n.Subscribe(func(e actor.Event) {
		if _, ok := e.(actor.Started); ok && running.Add(1) == want {
			close(done)
		}
	})
	start := time.Now()
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: children}
	if err := n.Start(root); err != nil {
		return nil, 0, err
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		return nil, 0, fmt.Errorf("only %d of %d actors started", running.Load(), want)
	}
	// Started fires before init; a call to the last child proves init ran.
	last := children[len(children)-1].Name
	c, _ := n.Capability(last, capability.Send)
	b, _ := msgpack.Marshal(map[string]any{"type": "get"})
	if _, err := n.Call(context.Background(), c, b); err != nil {
		return nil, 0, err
	}
	return n, time.Since(start), nil
}

func counters(n int) []actor.ChildSpec {
	s := compile("counter.js", counterJS)
	args, _ := msgpack.Marshal(map[string]any{"start": 1})
	out := make([]actor.ChildSpec, n)
	for i := range out {
		out[i] = actor.ChildSpec{Name: fmt.Sprintf("c%d", i), Script: s, Args: args}
	}
	return out
}

func stop(n *actor.Node) {
	_ = n.Shutdown(context.Background())
}

func spawnJS(count int) (float64, error) {
	n, d, err := tree(counters(count))
	if err != nil {
		return 0, err
	}
	stop(n)
	return float64(d.Microseconds()) / float64(count), nil
}

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

func spawnGo(count int) (float64, error) {
	sys := proto.NewActorSystem()
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
	return float64(time.Since(start).Microseconds()) / float64(count), nil
}

func heap() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func idleJS(count int) (float64, error) {
	specs := counters(count)
	before := heap()
	n, _, err := tree(specs)
	if err != nil {
		return 0, err
	}
	after := heap()
	stop(n)
	return float64(after-before) / float64(count), nil
}

func idleGo(count int) (float64, error) {
	sys := proto.NewActorSystem()
	defer sys.Shutdown()
	props := proto.PropsFromProducer(func() proto.Actor { return &goCounter{} })
	before := heap()
	pids := make([]*proto.PID, count)
	var wg sync.WaitGroup
	wg.Add(count)
	for i := range pids {
		pids[i] = sys.Root.Spawn(props)
		sys.Root.Send(pids[i], &wg)
	}
	wg.Wait()
	after := heap()
	runtime.KeepAlive(pids)
	return float64(after-before) / float64(count), nil
}

func throughputJS(pairs, msgs int) (float64, error) {
	src, sink := compile("source.js", sourceJS), compile("counter.js", counterJS)
	var specs []actor.ChildSpec
	for p := 0; p < pairs; p++ {
		sinkName := fmt.Sprintf("sink%d", p)
		specs = append(specs,
			actor.ChildSpec{Name: sinkName, Script: sink},
			actor.ChildSpec{Name: fmt.Sprintf("source%d", p), Script: src,
				Grants: []actor.GrantSpec{{Name: "peer", To: sinkName, Rights: capability.Send}}})
	}
	n, _, err := tree(specs)
	if err != nil {
		return 0, err
	}
	defer stop(n)
	goMsg, _ := msgpack.Marshal(map[string]any{"type": "go", "n": msgs, "from": 0})
	getMsg, _ := msgpack.Marshal(map[string]any{"type": "get"})
	start := time.Now()
	for p := 0; p < pairs; p++ {
		c, _ := n.Capability(fmt.Sprintf("source%d", p), capability.Send)
		if err := n.Send(c, goMsg); err != nil {
			return 0, err
		}
	}
	for p := 0; p < pairs; p++ {
		c, _ := n.Capability(fmt.Sprintf("sink%d", p), capability.Send)
		for {
			out, err := n.Call(context.Background(), c, getMsg)
			if err != nil {
				return 0, err
			}
			var got int
			_ = msgpack.Unmarshal(out, &got)
			if got >= msgs {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	return float64(pairs*msgs) / time.Since(start).Seconds(), nil
}

func throughputGo(pairs, msgs int) (float64, error) {
	sys := proto.NewActorSystem()
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

func roundtripJS(calls int) (float64, error) {
	specs := []actor.ChildSpec{
		{Name: "server", Script: compile("counter.js", counterJS)},
		{Name: "client", Script: compile("client.js", clientJS),
			Grants: []actor.GrantSpec{{Name: "peer", To: "server", Rights: capability.Send}}},
	}
	n, _, err := tree(specs)
	if err != nil {
		return 0, err
	}
	defer stop(n)
	c, _ := n.Capability("client", capability.Send)
	msg, _ := msgpack.Marshal(map[string]any{"n": calls})
	start := time.Now()
	if _, err := n.Call(context.Background(), c, msg); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Microseconds()) / float64(calls), nil
}

func roundtripGo(calls int) (float64, error) {
	sys := proto.NewActorSystem()
	defer sys.Shutdown()
	pid := sys.Root.Spawn(proto.PropsFromProducer(func() proto.Actor { return &goCounter{} }))
	start := time.Now()
	for i := 0; i < calls; i++ {
		if _, err := sys.Root.RequestFuture(pid, 1, 5*time.Second).Result(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / float64(calls), nil
}
