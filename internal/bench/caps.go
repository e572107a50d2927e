package bench

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	"github.com/vmihailenco/msgpack/v5"
)

// What the capability benchmarks measure, and how.
//
// Check overhead. Every JS send passes two capability checks: the isolate's
// host check when the script calls cap.send, and the node's choke point
// (actor.Node.signal) before the message is queued. There is no way to send
// without them, so the overhead is not a difference of two sends: it is the
// cost of those checks, measured on their own with the capability a grant
// gives (capability.Check on a live capability), set against the cost of a
// whole send measured in the same run. A send's cost is measured where the
// script pays it: a worker sends sendBatch messages in one turn, timed from
// Go, minus the same call sending none. Resolving the JS handle to its
// capability (a type assertion) is not counted as check: any send needs to
// find its target.
//
// Transfer. A worker sends transferBatch messages to a sink, each carrying
// ten capabilities (handles to the sink with the send right), or the same
// message with null in those ten slots; the time until the sink has handled
// them all, per message, is compared. It includes encoding in the sender,
// the Go-side transfer, and decoding in the receiver, which builds a new
// handle for each capability.

// CapsResult holds the capability benchmarks' medians. JSON keys are the
// ones the issue tracker expects.
type CapsResult struct {
	// SendNS is the cost of one JS cap.send in the sending script's turn.
	SendNS float64 `json:"send_ns"`
	// CheckNS is one capability check (capability.Check on a live capability).
	CheckNS float64 `json:"check_ns"`
	// ChecksPerSend is how many checks one send passes (JS host and Go node).
	ChecksPerSend int `json:"checks_per_send"`
	// CheckOverheadPct is ChecksPerSend × CheckNS as a share of SendNS, in
	// percent; the goal is at most 5.
	CheckOverheadPct float64 `json:"check_overhead_pct"`
	// Transfer0US and Transfer10US are the end-to-end cost of one message
	// with no capabilities and with ten, sender to receiver, in µs.
	Transfer0US  float64 `json:"transfer_0_caps_us"`
	Transfer10US float64 `json:"transfer_10_caps_us"`
	// TransferRatio is Transfer10US / Transfer0US.
	TransferRatio float64 `json:"transfer_10_caps_ratio"`
}

// Sizes of one capability benchmark run.
const (
	checksPerSend   = 2
	checkLoops      = 2_000_000
	sendBatch       = 5000 // sends per timed turn; below any default mailbox bound
	sendTurns       = 20   // timed turns per run
	transferBatch   = 2000
	transferBatches = 10
)

// capsSinkJS counts what it receives.
const capsSinkJS = `
let count = 0;
export function receive(msg) {
  if (msg.type === "inc") { count += msg.by; return; }
  if (msg.type === "get") return count;
}`

// capsSourceJS sends msg.n messages to its peer in one turn; with msg.caps
// each carries ten capabilities, else ten nulls in their place.
const capsSourceJS = `
export function receive(msg, ctx) {
  const peer = ctx.env.peer;
  const slots = [];
  for (let i = 0; i < 10; i++) slots.push(msg.caps ? peer.attenuate(["send"]) : null);
  const m = msg.slots ? {type: "inc", by: 1, slots} : {type: "inc", by: 1};
  for (let i = 0; i < msg.n; i++) peer.send(m);
  return msg.n;
}`

// Caps runs the capability benchmarks runs times and returns the medians.
func Caps(ctx context.Context, runs int) (CapsResult, error) {
	if runs < 1 {
		runs = 1
	}
	var r CapsResult
	r.ChecksPerSend = checksPerSend
	var sends, checks, t0, t10 []float64
	for i := 0; i < runs; i++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		b, err := newCapsBench()
		if err != nil {
			return r, err
		}
		s, err := b.sendNS(sendTurns)
		if err == nil {
			sends = append(sends, s)
			checks = append(checks, CheckNS(checkLoops))
			var a, c float64
			if a, err = b.transferUS(false, transferBatches); err == nil {
				c, err = b.transferUS(true, transferBatches)
			}
			t0, t10 = append(t0, a), append(t10, c)
		}
		b.close()
		if err != nil {
			return r, err
		}
	}
	r.SendNS, r.CheckNS = capsMedian(sends), capsMedian(checks)
	r.CheckOverheadPct = 100 * float64(r.ChecksPerSend) * r.CheckNS / r.SendNS
	r.Transfer0US, r.Transfer10US = capsMedian(t0), capsMedian(t10)
	r.TransferRatio = r.Transfer10US / r.Transfer0US
	return r, nil
}

func capsMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// benchTarget is a capability target outside any node, for timing checks.
type benchTarget uint64

func (t benchTarget) TargetID() uint64 { return uint64(t) }

// checkSink keeps the checks' results live so the loop is not optimised away.
var checkSink int

// CheckNS times n capability checks of the kind a send passes (the send
// right, on a live capability from a grant) and returns ns per check.
func CheckNS(n int) float64 {
	c := capability.New(benchTarget(1), capability.Send|capability.Monitor)
	denied := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		if c.Check(capability.Send, "send") != nil {
			denied++
		}
	}
	d := time.Since(start)
	checkSink += denied
	return float64(d.Nanoseconds()) / float64(n)
}

// capsBench is a node with a source worker granted send on a sink worker.
type capsBench struct {
	node   *actor.Node
	source *capability.Capability
	sink   *capability.Capability
}

func newCapsBench() (*capsBench, error) {
	sink, err := isolate.Compile("sink.js", []byte(capsSinkJS))
	if err != nil {
		return nil, err
	}
	source, err := isolate.Compile("source.js", []byte(capsSourceJS))
	if err != nil {
		return nil, err
	}
	n, err := actor.NewNode(actor.Options{Limits: isolate.Limits{CPU: 10 * time.Second}})
	if err != nil {
		return nil, err
	}
	root := actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(0, time.Second), Children: []actor.ChildSpec{
		{Name: "sink", Script: sink},
		{Name: "source", Script: source, Grants: []actor.GrantSpec{{Name: "peer", To: "sink", Rights: capability.Send}}},
	}}
	if err := n.Start(root); err != nil {
		return nil, fmt.Errorf("caps: %w", err)
	}
	b := &capsBench{node: n}
	b.source, _ = n.Capability("source", capability.Send)
	b.sink, _ = n.Capability("sink", capability.Send)
	if _, err := b.count(); err != nil { // waits for both inits
		b.close()
		return nil, err
	}
	if _, err := b.call(b.source, map[string]any{"n": 0}); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *capsBench) close() { _ = b.node.Shutdown(context.Background()) }

func (b *capsBench) call(c *capability.Capability, msg any) ([]byte, error) {
	m, err := msgpack.Marshal(msg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := b.node.CallEnvelope(ctx, c, mailbox.NewEnvelope(m, nil))
	if err != nil {
		return nil, err
	}
	return env.Data(), nil
}

// count asks the sink how many messages it has handled; the answer comes
// after every message queued before the question.
func (b *capsBench) count() (int64, error) {
	out, err := b.call(b.sink, map[string]any{"type": "get"})
	if err != nil {
		return 0, err
	}
	var n int64
	return n, msgpack.Unmarshal(out, &n)
}

// sendNS times turns of sendBatch sends against turns of none and returns
// the difference per send. Between turns the sink catches up, so its
// mailbox stays short and does not slow the sender.
func (b *capsBench) sendNS(turns int) (float64, error) {
	timed := func(n int) (time.Duration, error) {
		start := time.Now()
		if _, err := b.call(b.source, map[string]any{"n": n}); err != nil {
			return 0, err
		}
		d := time.Since(start)
		_, err := b.count()
		return d, err
	}
	var with, without []float64
	for i := 0; i < turns; i++ {
		d, err := timed(sendBatch)
		if err != nil {
			return 0, err
		}
		e, err := timed(0)
		if err != nil {
			return 0, err
		}
		with, without = append(with, float64(d.Nanoseconds())), append(without, float64(e.Nanoseconds()))
	}
	return (capsMedian(with) - capsMedian(without)) / sendBatch, nil
}

// transferUS times batches of transferBatch messages, with ten
// capabilities each or ten nulls, from the source's turn until the sink
// has handled the last, and returns the median µs per message.
func (b *capsBench) transferUS(caps bool, batches int) (float64, error) {
	var per []float64
	for i := 0; i < batches; i++ {
		start := time.Now()
		if _, err := b.call(b.source, map[string]any{"n": transferBatch, "slots": true, "caps": caps}); err != nil {
			return 0, err
		}
		if _, err := b.count(); err != nil {
			return 0, err
		}
		per = append(per, float64(time.Since(start).Microseconds())/transferBatch)
	}
	return capsMedian(per), nil
}
