package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"
)

// What the cluster benchmark measures, and how.
//
// Two nodes, a and b, run in this process, joined through a NATS server
// embedded in it (cluster.StartDevServer) on loopback, each with its own
// connection, as two machines would be. Every node runs the same tree;
// the senders and the caller are placed on a, the receivers and the
// callee on b, and the senders reach the receivers through static grants.
// The same tree with no placement runs on one node for the within-node
// figures, in the same round, with the same scripts and mailbox limits.
//
// Throughput. Each source sends {type:"inc",by:1} one-way to its sink,
// 100 per turn (the sourceJS of the one-node benchmark); a send the
// transport refuses for backpressure throws MailboxFull, and the source
// resumes a millisecond later. The figure counts messages whose turn has
// started in the sink, until every sink has had them all. Sinks have
// mailboxes of the default size: across nodes a message a full mailbox
// cannot take waits on the receiving node, which holds the sending node
// back until it has room, so the source's sends throw MailboxFull as they
// would on one node and nothing is lost. Any message lost to a limit
// (refused after it left its node, or dropped), crash, or frame the
// transport drops fails the run.
//
// Call round trip. A JS client awaits peer.call({type:"inc"}) n times in
// a row, in one turn. The node's Observer sees each call leave the client
// (Observer.Sent, on the client's goroutine, when the call is in the
// callee's mailbox or queued for the peer); the time from one call's
// leaving to the next's is one round trip as the script sees it: the
// callee's turn, the reply, the caller's resumption and the next call's
// checks and encoding. The p50 and p99 are taken over those intervals.
//
// Baseline. cluster.BenchRawRTT times request/reply round trips of a
// 64-byte payload between two plain NATS connections to the same kind of
// server, in the same round.

// ClusterOptions size `cloister bench --cluster`. Zero fields take
// ClusterDefaults.
type ClusterOptions struct {
	Runs     int // rounds; medians reported
	Messages int // one-way messages per pair per round
	Pairs    int // source/sink pairs
	Calls    int // sequential calls per round
	RTTs     int // raw NATS round trips per round
	// MTLS measures the cross-node figures a second time with the server
	// and both nodes on mutual TLS (certificates made for the run).
	MTLS bool

	// Progress, if set, gets one line per finished round.
	Progress io.Writer
}

// ClusterDefaults are the sizes of `cloister bench --cluster`: about a
// minute on an idle 2-core machine.
var ClusterDefaults = ClusterOptions{Runs: 5, Messages: 100_000, Pairs: 2, Calls: 10_000, RTTs: 10_000, MTLS: true}

// ClusterQuick are the sizes of `cloister bench --cluster --quick`.
var ClusterQuick = ClusterOptions{Runs: 3, Messages: 20_000, Pairs: 2, Calls: 2_000, RTTs: 2_000, MTLS: true}

// ClusterResult is `cloister bench --cluster`. Figures are medians over
// the rounds; ratios are the median of each round's ratio.
type ClusterResult struct {
	// Across nodes, plain TCP to the embedded server.
	MsgsPerSec float64 `json:"cluster_msgs_per_sec"`
	CallP50US  float64 `json:"cluster_call_p50_us"`
	CallP99US  float64 `json:"cluster_call_p99_us"`
	// Raw NATS request/reply between two plain connections.
	BaselineNATSRTTP50US float64 `json:"baseline_nats_rtt_p50_us"`
	BaselineNATSRTTP99US float64 `json:"baseline_nats_rtt_p99_us"`
	// The same scripts on one node.
	WithinNodeMsgsPerSec float64 `json:"within_node_msgs_per_sec"`
	WithinNodeCallP50US  float64 `json:"within_node_call_p50_us"`
	WithinNodeCallP99US  float64 `json:"within_node_call_p99_us"`

	// MsgsRatio is cross-node throughput over within-node throughput.
	MsgsRatio float64 `json:"cluster_msgs_ratio"`
	// CallP50Ratio is the cross-node call p50 over the within-node p50.
	CallP50Ratio float64 `json:"cluster_call_p50_ratio"`
	// CallVsNATSRatio is the cross-node call p50 over the raw NATS p50.
	CallVsNATSRatio float64 `json:"cluster_call_vs_nats_ratio"`

	// The cross-node figures again over mutual TLS, if measured.
	MTLS *ClusterMTLS `json:"mtls,omitempty"`

	// FramesPerBatch is how many frames node a packed into one NATS
	// message during the throughput runs (median of the rounds).
	FramesPerBatch float64 `json:"cluster_frames_per_batch"`
	// Backpressure is how many sends the transport refused for a full
	// queue over all throughput rounds (each one a MailboxFull the source
	// caught and retried).
	Backpressure uint64 `json:"cluster_backpressure_refusals"`
	// WindowStalls is how many times node a had frames waiting while its
	// window to b was full, over all throughput rounds.
	WindowStalls uint64 `json:"cluster_window_stalls"`

	Rounds     []ClusterRound `json:"rounds"`
	Runs       int            `json:"runs"`
	Messages   int            `json:"messages_per_pair"`
	Pairs      int            `json:"pairs"`
	Calls      int            `json:"calls"`
	GOMAXPROCS int            `json:"gomaxprocs"`
	LoadBefore float64        `json:"load_before"` // 1-minute load average, 0 if unknown
	LoadAfter  float64        `json:"load_after"`
}

// ClusterMTLS holds the cross-node figures over mutual TLS.
type ClusterMTLS struct {
	MsgsPerSec float64 `json:"cluster_mtls_msgs_per_sec"`
	CallP50US  float64 `json:"cluster_mtls_call_p50_us"`
	CallP99US  float64 `json:"cluster_mtls_call_p99_us"`
}

// ClusterRound is one round's figures.
type ClusterRound struct {
	MsgsPerSec           float64 `json:"cluster_msgs_per_sec"`
	CallP50US            float64 `json:"cluster_call_p50_us"`
	CallP99US            float64 `json:"cluster_call_p99_us"`
	MTLSMsgsPerSec       float64 `json:"cluster_mtls_msgs_per_sec,omitempty"`
	MTLSCallP50US        float64 `json:"cluster_mtls_call_p50_us,omitempty"`
	MTLSCallP99US        float64 `json:"cluster_mtls_call_p99_us,omitempty"`
	WithinNodeMsgsPerSec float64 `json:"within_node_msgs_per_sec"`
	WithinNodeCallP50US  float64 `json:"within_node_call_p50_us"`
	WithinNodeCallP99US  float64 `json:"within_node_call_p99_us"`
	NATSRTTP50US         float64 `json:"baseline_nats_rtt_p50_us"`
	NATSRTTP99US         float64 `json:"baseline_nats_rtt_p99_us"`
	FramesPerBatch       float64 `json:"cluster_frames_per_batch"`
	Load                 float64 `json:"load"`
}

func (o ClusterOptions) withDefaults() ClusterOptions {
	d := ClusterDefaults
	for _, f := range []struct{ v, def *int }{
		{&o.Runs, &d.Runs}, {&o.Messages, &d.Messages}, {&o.Pairs, &d.Pairs},
		{&o.Calls, &d.Calls}, {&o.RTTs, &d.RTTs},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return o
}

// Cluster runs the cluster benchmark.
func Cluster(ctx context.Context, o ClusterOptions) (ClusterResult, error) {
	o = o.withDefaults()
	r := ClusterResult{Runs: o.Runs, Messages: o.Messages, Pairs: o.Pairs, Calls: o.Calls,
		GOMAXPROCS: runtime.GOMAXPROCS(0), LoadBefore: loadAvg()}
	for i := 0; i < o.Runs; i++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		start := time.Now()
		// Alternate the order, so that a drift in the machine's load does
		// not always favour the same side.
		round, st, err := clusterRound(ctx, o, i%2 == 1)
		if err != nil {
			return r, fmt.Errorf("cluster round %d: %w", i+1, err)
		}
		r.Backpressure += st.RefusedBackpressure
		r.WindowStalls += st.WindowStalls
		r.Rounds = append(r.Rounds, round)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "bench: cluster round %d: %.0f msgs/s (one node %.0f), call p50 %.1f µs p99 %.1f µs (one node %.1f / %.1f), NATS p50 %.1f µs (%.1fs, load %.2f)\n",
				i+1, round.MsgsPerSec, round.WithinNodeMsgsPerSec, round.CallP50US, round.CallP99US,
				round.WithinNodeCallP50US, round.WithinNodeCallP99US, round.NATSRTTP50US, time.Since(start).Seconds(), round.Load)
		}
	}
	med := func(f func(ClusterRound) float64) float64 {
		vals := make([]float64, len(r.Rounds))
		for i, rd := range r.Rounds {
			vals[i] = f(rd)
		}
		return medianOf(vals)
	}
	r.MsgsPerSec = med(func(x ClusterRound) float64 { return x.MsgsPerSec })
	r.CallP50US = med(func(x ClusterRound) float64 { return x.CallP50US })
	r.CallP99US = med(func(x ClusterRound) float64 { return x.CallP99US })
	r.BaselineNATSRTTP50US = med(func(x ClusterRound) float64 { return x.NATSRTTP50US })
	r.BaselineNATSRTTP99US = med(func(x ClusterRound) float64 { return x.NATSRTTP99US })
	r.WithinNodeMsgsPerSec = med(func(x ClusterRound) float64 { return x.WithinNodeMsgsPerSec })
	r.WithinNodeCallP50US = med(func(x ClusterRound) float64 { return x.WithinNodeCallP50US })
	r.WithinNodeCallP99US = med(func(x ClusterRound) float64 { return x.WithinNodeCallP99US })
	r.MsgsRatio = med(func(x ClusterRound) float64 { return x.MsgsPerSec / x.WithinNodeMsgsPerSec })
	r.CallP50Ratio = med(func(x ClusterRound) float64 { return x.CallP50US / x.WithinNodeCallP50US })
	r.CallVsNATSRatio = med(func(x ClusterRound) float64 { return x.CallP50US / x.NATSRTTP50US })
	r.FramesPerBatch = med(func(x ClusterRound) float64 { return x.FramesPerBatch })
	if o.MTLS {
		r.MTLS = &ClusterMTLS{
			MsgsPerSec: med(func(x ClusterRound) float64 { return x.MTLSMsgsPerSec }),
			CallP50US:  med(func(x ClusterRound) float64 { return x.MTLSCallP50US }),
			CallP99US:  med(func(x ClusterRound) float64 { return x.MTLSCallP99US }),
		}
	}
	r.LoadAfter = loadAvg()
	return r, ctx.Err()
}

// clusterRound measures one round: across nodes (plain, then mTLS if
// asked), within one node, and raw NATS. It returns the round and the
// backpressure refusals and window stalls of node a's transport during
// the throughput runs.
func clusterRound(ctx context.Context, o ClusterOptions, withinFirst bool) (ClusterRound, cluster.Stats, error) {
	var (
		rd ClusterRound
		st cluster.Stats
	)
	within := func() error {
		n, _, err := tree(benchSpecs(o.Pairs, o.Messages, false).Children)
		if err != nil {
			return err
		}
		defer n.stop()
		cn := &cnode{node: n}
		w := &placedTree{a: cn, b: cn, nodes: []*cnode{cn}}
		if rd.WithinNodeMsgsPerSec, err = w.throughput(o.Pairs, o.Messages); err != nil {
			return fmt.Errorf("within one node: %w", err)
		}
		if rd.WithinNodeCallP50US, rd.WithinNodeCallP99US, err = w.calls(o.Calls); err != nil {
			return fmt.Errorf("within one node: %w", err)
		}
		return nil
	}
	across := func(mtls bool) error {
		p, err := startPair(o, mtls)
		if err != nil {
			return err
		}
		defer p.close()
		name := "across nodes"
		if mtls {
			name += " (mTLS)"
		}
		v, err := p.throughput(o.Pairs, o.Messages)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ts := p.ta.Stats()
		st.RefusedBackpressure += ts.RefusedBackpressure
		st.WindowStalls += ts.WindowStalls
		p50, p99, err := p.calls(o.Calls)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if mtls {
			rd.MTLSMsgsPerSec, rd.MTLSCallP50US, rd.MTLSCallP99US = v, p50, p99
			return nil
		}
		rd.MsgsPerSec, rd.CallP50US, rd.CallP99US = v, p50, p99
		rd.FramesPerBatch = float64(ts.FramesOut) / float64(max(ts.BatchesOut, 1))
		rtts, err := cluster.BenchRawRTT(p.srv.URL(), o.RTTs, 64)
		if err != nil {
			return err
		}
		rd.NATSRTTP50US, rd.NATSRTTP99US = durationPercentiles(rtts)
		return nil
	}
	steps := []func() error{func() error { return across(false) }}
	if o.MTLS {
		steps = append(steps, func() error { return across(true) })
	}
	if withinFirst {
		steps = append([]func() error{within}, steps...)
	} else {
		steps = append(steps, within)
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return rd, st, err
		}
		if err := s(); err != nil {
			return rd, st, err
		}
	}
	rd.Load = loadAvg()
	return rd, st, nil
}

// benchSpecs is the tree of the cluster benchmark: pairs of source and
// sink, and a client and its server. With place, the sources and the
// client run on node a, the sinks and the server on node b.
func benchSpecs(pairs, msgs int, place bool) actor.ChildSpec {
	src, sink := compile("source.js", sourceJS), compile("counter.js", counterJS)
	on := func(node string) string {
		if place {
			return node
		}
		return ""
	}
	var specs []actor.ChildSpec
	for p := 0; p < pairs; p++ {
		sinkName := "sink" + strconv.Itoa(p)
		specs = append(specs,
			actor.ChildSpec{Name: sinkName, Script: sink, Node: on("b")},
			actor.ChildSpec{Name: "source" + strconv.Itoa(p), Script: src, Node: on("a"),
				Grants: []actor.GrantSpec{{Name: "peer", To: sinkName, Rights: capability.Send}}})
	}
	specs = append(specs,
		actor.ChildSpec{Name: "server", Script: compile("counter.js", counterJS), Node: on("b")},
		actor.ChildSpec{Name: "client", Script: compile("client.js", clientJS), Node: on("a"),
			Grants: []actor.GrantSpec{{Name: "peer", To: "server", Rights: capability.Send}}})
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: specs}
}

// placedTree is the benchmark's tree: the senders and the caller on a, the
// receivers and the callee on b (the same node within one node).
type placedTree struct {
	a, b  *cnode
	nodes []*cnode
	// drops, if set, reports frames a transport dropped or a node refused.
	drops func() error
}

// check reports the first crash, or a dropped frame.
func (t *placedTree) check() error {
	for _, n := range t.nodes {
		if err := n.err(); err != nil {
			return err
		}
	}
	if t.drops != nil {
		return t.drops()
	}
	return nil
}

// throughput runs the sources and returns messages per second over all
// pairs, counted until each sink has started a turn for every message.
func (t *placedTree) throughput(pairs, msgs int) (float64, error) {
	goMsg := mustMarshal(map[string]any{"type": "go", "n": msgs, "from": 0})
	sinks := make([]*actor.Process, pairs)
	want := make([]uint64, pairs)
	for p := range sinks {
		s, ok := t.b.Lookup("sink" + strconv.Itoa(p))
		if !ok {
			return 0, fmt.Errorf("no sink%d", p)
		}
		sinks[p], want[p] = s, s.Handled()+uint64(msgs)
	}
	start := time.Now()
	for p := 0; p < pairs; p++ {
		c, err := t.a.Capability("source"+strconv.Itoa(p), capability.Send)
		if err != nil {
			return 0, err
		}
		if err := t.a.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(goMsg, nil)); err != nil {
			return 0, err
		}
	}
	deadline := start.Add(5 * time.Minute)
	for p := 0; p < pairs; {
		if sinks[p].Handled() >= want[p] {
			p++
			continue
		}
		if err := t.check(); err != nil {
			return 0, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("sink%d has started %d of %d turns", p, sinks[p].Handled(), want[p])
		}
		time.Sleep(50 * time.Microsecond)
	}
	d := time.Since(start)
	if err := t.check(); err != nil {
		return 0, err
	}
	return float64(pairs*msgs) / d.Seconds(), nil
}

// callTimes records when the client's calls leave it.
type callTimes struct {
	client *actor.Process
	mu     sync.Mutex
	at     []time.Time
}

func (c *callTimes) Handled(*actor.Process, time.Duration) {}

func (c *callTimes) Sent(p *actor.Process) {
	if p != c.client {
		return
	}
	now := time.Now()
	c.mu.Lock()
	c.at = append(c.at, now)
	c.mu.Unlock()
}

// calls has the client make n sequential calls to the server and returns
// the p50 and p99 of the intervals between them, in µs.
func (t *placedTree) calls(n int) (p50, p99 float64, err error) {
	client, ok := t.a.Lookup("client")
	if !ok {
		return 0, 0, errors.New("no client")
	}
	c, err := t.a.Capability("client", capability.Send)
	if err != nil {
		return 0, 0, err
	}
	call := func(k int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, err := t.a.CallEnvelope(ctx, c, mailbox.NewEnvelope(mustMarshal(map[string]any{"n": k}), nil))
		if err != nil {
			return fmt.Errorf("calls: %w (%v)", err, t.check())
		}
		return nil
	}
	// Warm up the path (the first call across nodes resolves the grant
	// and brings the peer's state in).
	if err := call(min(n, 100)); err != nil {
		return 0, 0, err
	}
	ct := &callTimes{client: client, at: make([]time.Time, 0, n+1)}
	for _, nd := range t.nodes {
		nd.Observe(ct)
	}
	err = call(n)
	for _, nd := range t.nodes {
		nd.Observe(nil)
	}
	if err != nil {
		return 0, 0, err
	}
	ct.mu.Lock()
	at := ct.at
	ct.mu.Unlock()
	if len(at) != n {
		return 0, 0, fmt.Errorf("calls: saw %d calls leave the client, want %d", len(at), n)
	}
	if n < 2 {
		return 0, 0, errors.New("calls: need at least two calls for an interval")
	}
	gaps := make([]time.Duration, n-1)
	for i := range gaps {
		gaps[i] = at[i+1].Sub(at[i])
	}
	p50, p99 = durationPercentiles(gaps)
	return p50, p99, t.check()
}

// durationPercentiles returns the p50 and p99 of ds in µs, sorting ds.
func durationPercentiles(ds []time.Duration) (p50, p99 float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) float64 { return us(ds[min(len(ds)-1, int(q*float64(len(ds))))]) }
	return at(0.50), at(0.99)
}

// pair is two clustered nodes and their server.
type pair struct {
	placedTree
	srv    *cluster.DevServer
	ta, tb *cluster.Transport
	dir    string
}

// startPair starts an embedded server (mutual TLS if mtls) and nodes a
// and b on it, each running its part of the benchmark tree, and returns
// once each reaches the other.
func startPair(o ClusterOptions, mtls bool) (_ *pair, err error) {
	p := &pair{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	sopts := cluster.ServerOptions{Nodes: []string{"a", "b"}}
	var certs *cluster.DevCerts
	if mtls {
		if p.dir, err = os.MkdirTemp("", "cloister-bench-certs-"); err != nil {
			return nil, err
		}
		if certs, err = cluster.WriteDevCerts(p.dir, sopts.Nodes); err != nil {
			return nil, err
		}
		sopts.CertFile, sopts.KeyFile, sopts.CAFile = certs.ServerCert, certs.ServerKey, certs.CAFile
	}
	if p.srv, err = cluster.StartDevServer(sopts); err != nil {
		return nil, err
	}
	root := benchSpecs(o.Pairs, o.Messages, true)
	for _, name := range sopts.Nodes {
		// A peer silent for 30 s is lost: the figures are about the data
		// path, and on a loaded machine a heartbeat can wait for a CPU
		// longer than the default 1.5 s without anything being wrong.
		cfg := cluster.Config{Name: name, URLs: []string{p.srv.URL()}, DeadAfter: 30 * time.Second}
		if mtls {
			cfg.CertFile, cfg.KeyFile, _ = certs.Node(name)
			cfg.CAFile = certs.CAFile
		}
		t, err := cluster.Dial(cfg)
		if err != nil {
			return nil, err
		}
		an, err := actor.NewNode(actor.Options{Limits: turnLimit, Cluster: t})
		if err != nil {
			_ = t.Close()
			return nil, err
		}
		n := watch(an)
		if name == "a" {
			p.ta, p.a = t, n
		} else {
			p.tb, p.b = t, n
		}
		p.nodes = append(p.nodes, n)
		if err := t.Start(an); err != nil {
			return nil, err
		}
		if err := an.Start(root); err != nil {
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
	}
	p.drops = p.dropped
	// Both transports see each other, and every process has run init.
	deadline := time.Now().Add(time.Minute)
	for {
		_, upA := p.ta.Peer("b")
		_, upB := p.tb.Peer("a")
		if upA && upB {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("nodes a and b did not see each other within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	for _, n := range p.nodes {
		if err := witness(n, root); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// dropped reports frames either transport dropped or refused for good,
// and messages a node refused: any of them makes the figures wrong.
func (p *pair) dropped() error {
	for _, t := range []*cluster.Transport{p.ta, p.tb} {
		st := t.Stats()
		if n := st.DropsMalformed + st.DropsStale + st.DropsPeerLost + st.DropsPublish + st.DropsSlowConsumer + st.RefusedNoConnection; n > 0 {
			return fmt.Errorf("node %s's transport dropped or refused %d frames: %+v", t.Self(), n, st)
		}
	}
	for _, n := range p.nodes {
		if k := n.refused.Load(); k > 0 {
			return fmt.Errorf("%d messages refused: %v", k, n.lastRefusal.Load())
		}
	}
	return nil
}

func (p *pair) close() {
	for _, n := range p.nodes {
		n.stop()
	}
	for _, t := range []*cluster.Transport{p.ta, p.tb} {
		if t != nil {
			_ = t.Close()
		}
	}
	if p.srv != nil {
		p.srv.Shutdown()
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

// watch wraps an with the crash and refusal watch of the harness.
func watch(an *actor.Node) *cnode {
	n := &cnode{node: &node{Node: an}}
	n.Subscribe(func(e actor.Event) {
		switch e := e.(type) {
		case actor.Crashed:
			n.mu.Lock()
			if n.crash == nil {
				n.crash = e.Crash
			}
			n.mu.Unlock()
		case actor.LimitHit:
			// A refusal on one node is a *mailbox.LimitError as it
			// is: the sender's send threw, and it sends again. Any
			// other lost a message.
			var le *mailbox.LimitError
			if e.Limit == mailbox.LimitMailbox && !(errors.As(e.Err, &le) && e.Err == error(le)) {
				n.refused.Add(1)
				n.lastRefusal.Store(e.Err.Error())
			}
		}
	})
	return n
}

// witness sends each of root's children that runs on n a message and
// waits for its turn: proof that its init has finished (see tree).
func witness(n *cnode, root actor.ChildSpec) error {
	var procs []*actor.Process
	for _, cs := range root.Children {
		p, ok := n.Lookup(cs.Name)
		if !ok {
			continue
		}
		c, err := n.Capability(cs.Name, capability.Send)
		if err != nil {
			return err
		}
		if err := n.SendEnvelope(context.Background(), c, mailbox.NewEnvelope(getMsg, nil)); err != nil {
			return fmt.Errorf("witness to %q: %w (%v)", cs.Name, err, n.err())
		}
		procs = append(procs, p)
	}
	return n.waitHandled(procs, 1)
}

// cnode is a node of the cluster benchmark: the harness's crash watch,
// and a count of the messages its mailboxes refused.
type cnode struct {
	*node
	refused     atomic.Int64
	lastRefusal atomic.Value // string
}

// ClusterThroughput measures one-way JS→JS messages per second across two
// nodes once, outside the rounds of Cluster: for Go benchmarks and pprof.
func ClusterThroughput(pairs, msgs int, mtls bool) (float64, error) {
	p, err := startPair(ClusterOptions{Pairs: pairs, Messages: msgs}, mtls)
	if err != nil {
		return 0, err
	}
	defer p.close()
	return p.throughput(pairs, msgs)
}

// ClusterCallP50 measures the p50 in µs of n sequential JS→JS calls across
// two nodes once: for Go benchmarks and pprof.
func ClusterCallP50(n int, mtls bool) (float64, error) {
	p, err := startPair(ClusterOptions{Pairs: 1, Messages: 1}, mtls)
	if err != nil {
		return 0, err
	}
	defer p.close()
	p50, _, err := p.calls(n)
	return p50, err
}
