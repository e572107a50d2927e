package actor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/actor"
	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/cluster"
	"github.com/cloister-rt/cloister/internal/testkit"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
	"github.com/cloister-rt/cloister/supervisor"

	"go.uber.org/goleak"
)

// flooder on node a: {op: "flood", n} sends sink the numbers 0 to n-1,
// and after each MailboxFull sends on from where it stopped a millisecond
// later; {op: "state"} reports how far it got. {op: "burst", target, n}
// sends target 0 to n-1 at once, as far as it can.
const flowFlooderJS = `
let next = 0, n = 0, full = 0, error = null;
function flood(ctx) {
  try {
    for (; next < n; next++) ctx.env.sink.send(next);
  } catch (e) {
    if (e.name !== "MailboxFull") { error = e.name + ": " + e.message; return; }
    full++;
    setTimeout(() => flood(ctx), 1);
  }
}
export function receive(msg, ctx) {
  switch (msg.op) {
    case "flood": n = msg.n; flood(ctx); return true;
    case "state": return {next, full, error};
    case "burst": {
      let i = 0;
      try {
        for (; i < msg.n; i++) ctx.env[msg.target].send(i);
      } catch (e) {
        return {next: i, error: e.name};
      }
      return {next: i};
    }
  }
}`

// sink on node b takes its time over each message and logs it.
const flowSinkJS = `
let log = [];
export function receive(msg) {
  if (typeof msg === "object" && msg.type === "log") return log;
  let x = 0;
  for (let k = 0; k < 2000; k++) x += k;
  log.push(msg);
}`

// flowTree places the flooder on node a, the sink and stuck on node b.
func flowTree(t *testing.T) actor.ChildSpec {
	flooder := worker(t, "flooder", flowFlooderJS,
		actor.GrantSpec{Name: "sink", To: "sink", Rights: capability.Send},
		actor.GrantSpec{Name: "stuck", To: "stuck", Rights: capability.Send})
	flooder.Node = "a"
	// A burst of hundreds of sends is one turn: under the race detector
	// on a loaded machine it can pass the default CPU limit.
	flooder.Limits = isolate.Limits{CPU: 10 * time.Second}
	sink := worker(t, "sink", flowSinkJS)
	sink.Node, sink.Mailbox = "b", mailbox.Limits{Messages: 10}
	// Nor is a turn of the sink's: under the race detector on a loaded
	// machine the default 50 ms has ended short turns (the red-team
	// tests'), and a restarted sink's log starts afresh, so the test
	// would wait for messages the sink has already taken.
	sink.Limits = isolate.Limits{CPU: 10 * time.Second}
	stuck := worker(t, "stuck", remoteStuckJS)
	stuck.Node, stuck.Mailbox = "b", mailbox.Limits{Messages: 2}
	return actor.ChildSpec{Name: "root", Strategy: supervisor.NewOneForOne(100, time.Second),
		Children: []actor.ChildSpec{flooder, sink, stuck}}
}

// flowCluster is nodes a and b on an in-memory transport with window
// frames in flight between them: a's flooder sends to b's sink, whose
// mailbox holds 10 messages; b's stuck never finishes its first turn.
func flowCluster(t *testing.T, window int) *memCluster {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	cl := &memCluster{t: t, net: newMemNet(), nodes: make(map[string]*actor.Node), evs: make(map[*actor.Node][]actor.Event),
		root: flowTree(t)}
	cl.net.size = window
	t.Cleanup(cl.stop)
	cl.start("a")
	cl.start("b")
	// Parked frames wait as long as need be, but where a test says
	// otherwise: a loaded machine does not make a mailbox stuck.
	actor.SetParkWait(cl.node("b"), time.Hour)
	cl.net.mu.Lock()
	ea, eb := cl.net.ends["a"], cl.net.ends["b"]
	cl.net.mu.Unlock()
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if _, up := eb.Peer("a"); !up {
			return errors.New("b does not see a yet")
		}
		if _, up := ea.Peer("b"); !up {
			return errors.New("a does not see b yet")
		}
		return nil
	})
	return cl
}

// flood has a's flooder send sink 0..n-1, and returns how many times it
// saw MailboxFull.
func (cl *memCluster) flood(n int) int {
	t := cl.t
	cl.call("a", "flooder", map[string]any{"op": "flood", "n": n})
	var st map[string]any
	// Under the race detector on a loaded machine the flood can take over
	// a minute: the wait fails when the flooder stops getting further.
	cl.whileGrowing(func() (int, bool, string) {
		st, _ = cl.call("a", "flooder", map[string]any{"op": "state"}).(map[string]any)
		if st["error"] != nil {
			t.Fatalf("flooder: %v", st)
		}
		return int(num(st["next"])), num(st["next"]) >= int64(n), fmt.Sprintf("the flooder has sent %v of %d", st["next"], n)
	})
	return int(num(st["full"]))
}

// flowStall is how long the flow tests wait for progress: the sink on a
// loaded machine, under the race detector, has taken several seconds
// over a few messages.
const flowStall = 90 * time.Second

// whileGrowing polls f until it reports done. It fails the test at once
// if b's sink has restarted (a crash, which loses its log), and when the
// count f returns has not grown for flowStall; the failure says what f
// says, and where the sink's messages are.
func (cl *memCluster) whileGrowing(f func() (count int, done bool, what string)) {
	t := cl.t
	t.Helper()
	seen, last := -1, time.Now()
	for {
		k, done, what := f()
		if done {
			return
		}
		if inc := cl.sink().Incarnation(); inc != 1 {
			t.Fatalf("b's sink restarted (incarnation %d): %s; %s", inc, what, cl.flowState())
		}
		if k > seen {
			seen, last = k, time.Now()
		} else if time.Since(last) > flowStall {
			t.Fatalf("none more in %v: %s; %s", flowStall, what, cl.flowState())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sink is node b's sink.
func (cl *memCluster) sink() *actor.Process {
	p, ok := cl.node("b").Lookup("sink")
	if !ok {
		cl.t.Fatal("node b has no sink")
	}
	return p
}

// flowState says where the sink's messages are: what it took and holds,
// what b parks and whether it holds a back, and b's crashes.
func (cl *memCluster) flowState() string {
	b, sink := cl.node("b"), cl.sink()
	frames, cost, running := actor.FlowParked(b)
	var crashes []string
	for _, e := range cl.events("b") {
		if c, ok := e.(actor.Crashed); ok {
			crashes = append(crashes, fmt.Sprintf("%s#%d: %s", c.Crash.Path, c.Crash.Incarnation, c.Crash.Reason))
		}
	}
	return fmt.Sprintf("the sink (incarnation %d, %v) has begun %d turns and holds %d messages; b parks %d frames (%d bytes), retry loop running %v, holding a %v; crashes on b: %v",
		sink.Incarnation(), sink.Status(), sink.Handled(), sink.MailboxDepth(), frames, cost, running, b.Holding("a"), crashes)
}

// limitHits counts node name's LimitHit events for limit, whose text
// has every one of substr.
func (cl *memCluster) limitHits(name, limit string, substr ...string) int {
	k := 0
	for _, e := range cl.events(name) {
		if l, ok := e.(actor.LimitHit); ok && l.Limit == limit && !slices.ContainsFunc(substr, func(s string) bool { return !strings.Contains(l.Err.Error(), s) }) {
			k++
		}
	}
	return k
}

// burst has the flooder on a send n messages to target on b at once,
// without waiting for room.
func (cl *memCluster) burst(target string, n int) {
	cl.t.Helper()
	if v := cl.call("a", "flooder", map[string]any{"op": "burst", "target": target, "n": n}); fmt.Sprint(v) != fmt.Sprintf("map[next:%d]", n) {
		cl.t.Fatalf("flooder's burst of %d to %s: %v", n, target, v)
	}
}

func TestFlow_SlowReceiverOnAnotherNodePushesBackAndLosesNothing(t *testing.T) {
	cl := flowCluster(t, 64)
	const n = 1000
	full := cl.flood(n)
	var log []any
	// The sink takes the messages slowly, and a full mailbox refuses the
	// request for its log too (while a's frames are parked it is full
	// nearly all the time): progress is the sink's turns, less those of
	// the log requests.
	reads := 0
	cl.whileGrowing(func() (int, bool, string) {
		v, err := cl.tryCall("b", "sink", map[string]any{"type": "log"})
		if err == nil {
			log, _ = v.([]any)
			reads++
		}
		return int(cl.sink().Handled()) - reads, len(log) >= n, fmt.Sprintf("the sink's log has %d of %d messages (last error: %v)", len(log), n, err)
	})
	checkInOrder(t, log, n)
	if full == 0 {
		t.Fatal("the flooder never saw MailboxFull: nothing pushed back")
	}
	// (b counts the refusals of the test's own log requests, made on b.)
	if a, b := cl.limitHits("a", mailbox.LimitMailbox), cl.limitHits("b", mailbox.LimitMailbox, "from node a"); a != 0 || b != 0 {
		t.Fatalf("mailbox refusals: %d reported on a, %d of a's counted on b; want none", a, b)
	}
	b := cl.node("b")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if frames, cost, running := actor.FlowParked(b); frames != 0 || cost != 0 || running || b.Holding("a") {
			return fmt.Errorf("b holds %d parked frames (%d bytes), retry loop running %v, holding a %v", frames, cost, running, b.Holding("a"))
		}
		return nil
	})
	t.Logf("the flooder saw MailboxFull %d times for %d messages", full, n)
}

func TestFlow_ParkedFramesOfALostPeerAreDropped(t *testing.T) {
	cl := flowCluster(t, 64)
	b := cl.node("b")
	// stuck takes 2 messages (3 if the first has started its turn); the
	// rest are parked on b, and b holds a back.
	cl.burst("stuck", 20)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if frames, _, running := actor.FlowParked(b); frames < 17 || !running || !b.Holding("a") {
			return fmt.Errorf("b parked %d frames (want 17 or 18), retry loop running %v, holding a %v", frames, running, b.Holding("a"))
		}
		return nil
	})
	cl.net.cut("a")
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if frames, cost, running := actor.FlowParked(b); frames != 0 || cost != 0 || running || b.Holding("a") {
			return fmt.Errorf("after a was lost b holds %d parked frames (%d bytes), retry loop running %v, holding a %v", frames, cost, running, b.Holding("a"))
		}
		return nil
	})
	if k := cl.limitHits("b", mailbox.LimitMailbox); k != 0 {
		t.Fatalf("b counted %d mailbox refusals; the parked frames were dropped with their peer, not refused", k)
	}
}

func TestFlow_PastTheBoundFramesAreRefusedAndCounted(t *testing.T) {
	cl := flowCluster(t, 64)
	b := cl.node("b")
	actor.SetParkBounds(b, 3, 1<<20)
	// stuck takes 2 or 3, b parks 3, and refuses the other 4 or 5: each
	// refusal is counted on b and reported to a, naming the sender.
	cl.burst("stuck", 10)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if hb, ha := cl.limitHits("b", mailbox.LimitMailbox), cl.limitHits("a", mailbox.LimitMailbox); hb < 4 || ha != hb {
			return fmt.Errorf("mailbox refusals counted on b %d, on a %d; want 4 or 5, the same on both", hb, ha)
		}
		return nil
	})
	// One may have moved on to stuck's mailbox when its turn started.
	if frames, _, _ := actor.FlowParked(b); frames != 3 && frames != 2 {
		t.Fatalf("b parked %d frames, want its bound of 3 (2 once stuck took one)", frames)
	}
	for _, e := range cl.events("a") {
		if l, ok := e.(actor.LimitHit); ok && l.Limit == mailbox.LimitMailbox && (l.Path != "flooder" || !strings.Contains(l.Err.Error(), "wait here for full mailboxes")) {
			t.Fatalf("the refusal on a: %q %v, want the sender flooder told of the bound", l.Path, l.Err)
		}
	}
}

func TestFlow_AStuckMailboxHoldsItsPeerUpOnlyForAWhile(t *testing.T) {
	cl := flowCluster(t, 64)
	b := cl.node("b")
	actor.SetParkWait(b, 50*time.Millisecond)
	// stuck takes 2 (3 if its first turn has started) and b parks the
	// rest; a's messages to sink do not queue behind them.
	cl.burst("stuck", 20)
	cl.burst("sink", 5)
	// stuck takes none of them: they are refused, counted on b and
	// reported to a; sink's get through, in order.
	refusedStuck := func(node string) int {
		return cl.limitHits(node, mailbox.LimitMailbox, "stuck took none of the messages from node a")
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		v, err := cl.tryCall("b", "sink", map[string]any{"type": "log"})
		if err != nil {
			return err
		}
		if fmt.Sprint(v) != "[0 1 2 3 4]" {
			return fmt.Errorf("sink's log %v, want [0 1 2 3 4]", v)
		}
		if hb, ha := refusedStuck("b"), refusedStuck("a"); hb < 17 || hb > 18 || ha != hb {
			return fmt.Errorf("refusals for stuck: %d on b, %d reported on a; want 17 or 18 on both", hb, ha)
		}
		return nil
	})
	if frames, cost, _ := actor.FlowParked(b); frames != 0 || cost != 0 || b.Holding("a") {
		t.Fatalf("b holds %d parked frames (%d bytes), holding a %v", frames, cost, b.Holding("a"))
	}
	// stuck is marked: what it cannot take is refused at once, not parked,
	// so a's messages to sink are not held up again.
	before := cl.limitHits("b", mailbox.LimitMailbox, "from node a")
	cl.burst("stuck", 3)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if k := cl.limitHits("b", mailbox.LimitMailbox, "from node a") - before; k != 3 {
			return fmt.Errorf("%d of 3 sends to stuck refused", k)
		}
		return nil
	})
	if frames, _, _ := actor.FlowParked(b); frames != 0 {
		t.Fatalf("b parked %d frames for a stuck mailbox", frames)
	}
}

func TestFlow_OverNATSTheSenderIsHeldBack(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, before) })
	srv, err := cluster.StartDevServer(cluster.ServerOptions{Nodes: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	// A window of 4 KiB and a queue of 64 frames: a's sends to b are
	// refused for backpressure soon after b starts holding a back. No
	// peer is lost to a loaded machine: DeadAfter is an hour.
	tune := cluster.Config{URLs: []string{srv.URL()}, Window: 4 << 10, QueueFrames: 64, DeadAfter: time.Hour}
	cl := &memCluster{t: t, nodes: make(map[string]*actor.Node), evs: make(map[*actor.Node][]actor.Event)}
	trs := make(map[string]*cluster.Transport)
	root := flowTree(t)
	for _, name := range []string{"a", "b"} {
		cfg := tune
		cfg.Name = name
		tr, err := cluster.Dial(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n, err := actor.NewNode(actor.Options{Cluster: tr})
		if err != nil {
			t.Fatal(err)
		}
		n.Subscribe(func(ev actor.Event) {
			cl.mu.Lock()
			cl.evs[n] = append(cl.evs[n], ev)
			cl.mu.Unlock()
		})
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := n.Shutdown(ctx); err != nil {
				t.Errorf("shutdown %s: %v", name, err)
			}
			_ = tr.Close()
		})
		if err := tr.Start(n); err != nil {
			t.Fatal(err)
		}
		if err := n.Start(root); err != nil {
			t.Fatal(err)
		}
		actor.SetParkWait(n, time.Hour)
		cl.nodes[name], trs[name] = n, tr
	}
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if _, up := trs["a"].Peer("b"); !up {
			return errors.New("a does not see b yet")
		}
		if _, up := trs["b"].Peer("a"); !up {
			return errors.New("b does not see a yet")
		}
		return nil
	})

	const n = 1000
	full := cl.flood(n)
	var log []any
	checkFor(t, 30*time.Second, 5*time.Millisecond, func() error {
		v, err := cl.tryCall("b", "sink", map[string]any{"type": "log"})
		if err != nil {
			return err
		}
		log, _ = v.([]any)
		if len(log) < n {
			// Where the rest are, should they never arrive.
			sink, _ := cl.nodes["b"].Lookup("sink")
			frames, _, running := actor.FlowParked(cl.nodes["b"])
			return fmt.Errorf("sink has %d of %d messages (incarnation %d, %d handled, %d in its mailbox); b parks %d frames (retrying: %v), holds a: %v; a: %+v; b: %+v",
				len(log), n, sink.Incarnation(), sink.Handled(), sink.MailboxDepth(), frames, running,
				cl.nodes["b"].Holding("a"), trs["a"].Stats(), trs["b"].Stats())
		}
		return nil
	})
	checkInOrder(t, log, n)
	if a, b := cl.limitHits("a", mailbox.LimitMailbox), cl.limitHits("b", mailbox.LimitMailbox, "from node a"); a != 0 || b != 0 {
		t.Fatalf("mailbox refusals: %d reported on a, %d of a's counted on b; want none", a, b)
	}
	sa, sb := trs["a"].Stats(), trs["b"].Stats()
	if full == 0 || sa.RefusedBackpressure == 0 {
		t.Fatalf("the flooder saw MailboxFull %d times, a's transport refused %d sends: nothing pushed back", full, sa.RefusedBackpressure)
	}
	if sa.DropsPeerLost+sa.DropsPublish+sb.DropsSlowConsumer+sa.WindowResets != 0 {
		t.Fatalf("frames lost or windows reset: a %+v, b %+v", sa, sb)
	}
	t.Logf("MailboxFull %d times; b sent %d hold notices; a: %d window stalls, %d backpressure refusals", full, sb.HoldsOut, sa.WindowStalls, sa.RefusedBackpressure)
}

func TestFlow_ManyParkedFramesKeepTheirOrderAndTheStuckOnesAreSortedOut(t *testing.T) {
	// Enough frames parked at once to fill several of the queue's chunks:
	// stuck's, and sink's as its mailbox fills.
	cl := flowCluster(t, 4096)
	b := cl.node("b")
	const nStuck, nSink = 600, 700
	cl.burst("stuck", nStuck)
	cl.burst("sink", nSink)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if frames, _, _ := actor.FlowParked(b); frames < nStuck-3 {
			return fmt.Errorf("b parked %d frames, want at least %d", frames, nStuck-3)
		}
		return nil
	})
	// Now stuck times out: its frames are refused, sink's go on in order.
	// The wait is long next to a turn of sink's, and back to an hour as
	// soon as stuck's frames are refused: sink must not time out too on a
	// loaded machine.
	actor.SetParkWait(b, 2*time.Second)
	refusedStuck := func(node string) int {
		return cl.limitHits(node, mailbox.LimitMailbox, "stuck took none of the messages from node a")
	}
	checkFor(t, 30*time.Second, time.Millisecond, func() error {
		if hb := refusedStuck("b"); hb < nStuck-3 {
			return fmt.Errorf("%d refusals for stuck on b, want at least %d", hb, nStuck-3)
		}
		return nil
	})
	actor.SetParkWait(b, time.Hour)
	var log []any
	checkFor(t, 60*time.Second, 5*time.Millisecond, func() error {
		v, err := cl.tryCall("b", "sink", map[string]any{"type": "log"})
		if err != nil {
			return err
		}
		log, _ = v.([]any)
		if len(log) < nSink {
			return fmt.Errorf("sink has %d of %d messages", len(log), nSink)
		}
		if hb, ha := refusedStuck("b"), refusedStuck("a"); hb < nStuck-3 || hb > nStuck-2 || ha != hb {
			return fmt.Errorf("refusals for stuck: %d on b, %d reported on a; want %d or %d on both", hb, ha, nStuck-3, nStuck-2)
		}
		return nil
	})
	checkInOrder(t, log, nSink)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if frames, cost, running := actor.FlowParked(b); frames != 0 || cost != 0 || running || b.Holding("a") {
			return fmt.Errorf("b holds %d parked frames (%d bytes), retry loop running %v, holding a %v", frames, cost, running, b.Holding("a"))
		}
		return nil
	})
}

func TestFlow_AFullMailboxHoldsUpOnlyItsOwnMessages(t *testing.T) {
	cl := flowCluster(t, 4096)
	b := cl.node("b")
	// stuck takes 2 (3 if its first turn has started) and never finishes
	// its turn; b parks the rest, and holds a back, for as long as need be
	// (the park wait is an hour).
	const nStuck, nSink = 20, 300
	cl.burst("stuck", nStuck)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if frames, _, _ := actor.FlowParked(b); frames < nStuck-3 || !b.Holding("a") {
			return fmt.Errorf("b parked %d frames (want %d or %d), holding a %v", frames, nStuck-3, nStuck-2, b.Holding("a"))
		}
		return nil
	})
	// a's messages to sink, which has room for 10 and is slow, arrive
	// behind stuck's parked ones; they park only behind sink's own.
	cl.burst("sink", nSink)
	var log []any
	checkFor(t, 60*time.Second, 5*time.Millisecond, func() error {
		v, err := cl.tryCall("b", "sink", map[string]any{"type": "log"})
		if err != nil {
			return err
		}
		log, _ = v.([]any)
		if len(log) < nSink {
			return fmt.Errorf("sink has %d of %d messages while stuck's are parked", len(log), nSink)
		}
		return nil
	})
	checkInOrder(t, log, nSink)
	// stuck's are still parked, in order, a still held back, none refused.
	if frames, _, _ := actor.FlowParked(b); frames < nStuck-3 || !b.Holding("a") {
		t.Fatalf("b parks %d frames (want %d or %d), holding a %v", frames, nStuck-3, nStuck-2, b.Holding("a"))
	}
	if k := cl.limitHits("b", mailbox.LimitMailbox, "from node a"); k != 0 {
		t.Fatalf("b refused %d of a's messages", k)
	}
}

// checkInOrder checks that the sink's log is 0 to n-1, each once, in order.
func checkInOrder(t *testing.T, log []any, n int) {
	t.Helper()
	if len(log) != n {
		t.Fatalf("sink received %d messages, want %d", len(log), n)
	}
	for i, v := range log {
		if num(v) != int64(i) {
			t.Fatalf("message %d arrived as %v: lost, doubled or out of order (%v)", i, v, log[max(0, i-5):min(len(log), i+5)])
		}
	}
}
