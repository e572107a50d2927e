package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"

	"github.com/nats-io/nats.go"
)

func sendFrame(id uint64, data string) *wire.Frame {
	return &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "x", Path: "root/w", Rights: 1}, From: "root/p", ID: id,
		Env: &wire.Envelope{Data: []byte(data)}}
}

// checkInOrder checks that frames carry IDs 1..n in order.
func checkInOrder(t *testing.T, frames []*wire.Frame, n int) {
	t.Helper()
	if len(frames) != n {
		t.Fatalf("got %d frames, want %d", len(frames), n)
	}
	for i, f := range frames {
		if f.ID != uint64(i+1) {
			t.Fatalf("frame %d has id %d", i, f.ID)
		}
	}
}

func TestTransport_FramesFlowBothWaysInOrder(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	a, ra := c.start("a", slow)
	b, rb := c.start("b", slow)
	cc, rc := c.start("c", slow)
	waitUp(t, a, b, cc)

	const n = 5000
	for i := 1; i <= n; i++ {
		for _, s := range []struct {
			from *Transport
			to   string
		}{{a, "b"}, {b, "a"}, {a, "c"}, {cc, "a"}} {
			if err := s.from.Send(s.to, sendFrame(uint64(i), fmt.Sprintf("%s->%s #%d", s.from.Self(), s.to, i))); err != nil {
				t.Fatalf("send %d %s->%s: %v", i, s.from.Self(), s.to, err)
			}
		}
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		for _, r := range []struct {
			rec  *recorder
			from string
		}{{rb, "a"}, {ra, "b"}, {rc, "a"}, {ra, "c"}} {
			if got := len(r.rec.received(r.from)); got < n {
				return fmt.Errorf("%d of %d frames from %s", got, n, r.from)
			}
		}
		return nil
	})
	checkInOrder(t, rb.received("a"), n)
	checkInOrder(t, ra.received("b"), n)
	checkInOrder(t, rc.received("a"), n)
	checkInOrder(t, ra.received("c"), n)
	if got, want := string(rb.received("a")[41].Env.Data), "a->b #42"; got != want {
		t.Errorf("frame 42 carries %q, want %q", got, want)
	}
	if len(rb.received("c")) != 0 || len(rc.received("b")) != 0 {
		t.Error("frames between b and c, which sent none")
	}
	for name, r := range map[string]*recorder{"a": ra, "b": rb, "c": rc} {
		if r.overlap.Load() != 0 {
			t.Errorf("%s: handler called concurrently %d times", name, r.overlap.Load())
		}
	}
	st := a.Stats()
	if st.FramesOut != 2*n || st.FramesIn != 2*n {
		t.Errorf("a: %d frames out, %d in; want %d each", st.FramesOut, st.FramesIn, 2*n)
	}
	if st.BatchesOut >= st.FramesOut {
		t.Errorf("a: %d batches for %d frames: nothing was batched", st.BatchesOut, st.FramesOut)
	}
	if st.PeersUp != 2 || st.DropsMalformed != 0 || st.DropsSlowConsumer != 0 || st.DropsStale != 0 {
		t.Errorf("a: stats %+v", st)
	}
}

func TestTransport_SendRefusals(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	a, _ := c.start("a", slow)
	b, _ := c.start("b", slow)
	waitUp(t, a, b)

	if err := a.Send("nobody", sendFrame(1, "x")); !errors.Is(err, wire.ErrNoConnection) {
		t.Errorf("send to an unknown node: %v, want ErrNoConnection", err)
	}
	if err := a.Send("b", &wire.Frame{Kind: 0}); !errors.Is(err, wire.ErrUnknownKind) {
		t.Errorf("send of a bad frame: %v, want ErrUnknownKind", err)
	}
	big := &wire.Frame{Kind: wire.KindSend, Env: &wire.Envelope{Data: make([]byte, DefaultMaxPayload)}}
	if err := a.Send("b", big); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("send of a frame over max_payload: %v, want ErrTooLarge", err)
	}
	st := a.Stats()
	if st.RefusedNoConnection != 1 {
		t.Errorf("RefusedNoConnection = %d, want 1", st.RefusedNoConnection)
	}
}

// A receiver that falls behind closes its senders' windows: their queues
// fill and Send reports backpressure; nothing is dropped, and once the
// receiver catches up every accepted frame arrives in order.
func TestTransport_SlowReceiverGetsBackpressureNotDrops(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	tune := slow
	tune.Window = 4 << 10
	tune.QueueFrames = 64
	a, _ := c.start("a", tune)
	b, rb := c.start("b", tune)
	waitUp(t, a, b)

	// b's handler blocks on the first frame until released.
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // before the cleanups close the transports
	rb.mu.Lock()
	rb.block = release
	rb.mu.Unlock()

	accepted := 0
	var refusal error
	for i := 1; refusal == nil; i++ {
		if i > 1_000_000 {
			t.Fatal("a million frames accepted with the receiver stuck")
		}
		err := a.Send("b", sendFrame(uint64(i), "payload of some length to fill the window"))
		if err != nil {
			refusal = err
			break
		}
		accepted++
	}
	if !errors.Is(refusal, wire.ErrBackpressure) {
		t.Fatalf("refusal: %v, want ErrBackpressure", refusal)
	}
	unblock()
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got < accepted {
			return fmt.Errorf("%d of %d frames", got, accepted)
		}
		return nil
	})
	checkInOrder(t, rb.received("a"), accepted)
	// the frames went out a window's part of the queue at a time: each
	// still carries its own bytes
	for i, f := range rb.received("a") {
		if f.Env == nil || string(f.Env.Data) != "payload of some length to fill the window" {
			t.Fatalf("frame %d arrived with %+v", i+1, f.Env)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.RefusedBackpressure != 1 || sa.WindowStalls == 0 {
		t.Errorf("sender stats: %+v", sa)
	}
	if sb.DropsSlowConsumer != 0 || sa.DropsPublish != 0 {
		t.Errorf("drops: receiver %+v, sender %+v", sb, sa)
	}
	// the window reopened: more frames go through
	if err := a.Send("b", sendFrame(uint64(accepted+1), "after")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got != accepted+1 {
			return fmt.Errorf("%d of %d frames", got, accepted+1)
		}
		return nil
	})
}

// A node that closes cleanly is lost at once by its peers: their dead
// timer is an hour here, so only the leaving heartbeat can explain it.
func TestTransport_CloseTellsPeers(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	a, ra := c.start("a", slow)
	b, _ := c.start("b", slow)
	waitUp(t, a, b)
	binc := b.Incarnation()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if !ra.hasEvent(event{false, "b", binc}) {
			return fmt.Errorf("a saw %v", ra.eventList())
		}
		return nil
	})
	if err := a.Send("b", sendFrame(1, "x")); !errors.Is(err, wire.ErrNoConnection) {
		t.Errorf("send to a node that left: %v, want ErrNoConnection", err)
	}
	if err := b.Send("a", sendFrame(1, "x")); !errors.Is(err, wire.ErrNoConnection) {
		t.Errorf("send from a closed transport: %v, want ErrNoConnection", err)
	}
}

// A node whose connection dies without a word is lost once its
// heartbeats stop; a new run of it is a new incarnation: the old one
// down, then the new one up.
func TestTransport_SilentPeerIsLostAndComesBackAsNewIncarnation(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	fast := Config{Heartbeat: 20 * time.Millisecond, DeadAfter: 200 * time.Millisecond}
	a, ra := c.start("a", fast)
	b, _ := c.start("b", fast)
	cc, rc := c.start("c", fast)
	waitUp(t, a, b, cc)
	binc := b.Incarnation()

	b.nc.Close() // the connection dies; no leaving heartbeat
	// Each has b down now, not only once: a stall before the close can
	// have lost b and let it back in.
	for _, p := range []struct {
		tr *Transport
		r  *recorder
	}{{a, ra}, {cc, rc}} {
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			if _, up := p.tr.Peer("b"); up || !p.r.hasEvent(event{false, "b", binc}) {
				return fmt.Errorf("%s has b up=%v and saw %v", p.tr.Self(), up, p.r.eventList())
			}
			return nil
		})
	}
	if err := a.Send("b", sendFrame(1, "x")); !errors.Is(err, wire.ErrNoConnection) {
		t.Errorf("send to a lost node: %v, want ErrNoConnection", err)
	}

	b2, _ := c.start("b", fast)
	if b2.Incarnation() == binc {
		t.Fatal("a new run has the old incarnation")
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if !ra.hasEvent(event{true, "b", b2.Incarnation()}) {
			return fmt.Errorf("a saw %v", ra.eventList())
		}
		return nil
	})
	// b's first run: up, then down, before the second run's up. A stall
	// of a over the 200 ms of DeadAfter (a loaded machine, the race
	// detector, c's TLS handshake) can also lose the first run before its
	// connection dies and let it back in, as the frozen-peer test shows:
	// more down-up pairs of it are no error.
	var seq []event
	for _, e := range ra.eventList() {
		if e.peer == "b" {
			seq = append(seq, e)
		}
	}
	k := slices.IndexFunc(seq, func(e event) bool { return e.inc != binc })
	if err := flaps(seq[:max(k, 0)], "b", binc, false); k < 0 || err != nil || seq[k] != (event{true, "b", b2.Incarnation()}) {
		t.Errorf("a saw b as %v (%v), want up %x and down %x in turn, then up %x", seq, err, binc, binc, b2.Incarnation())
	}
}

// flaps checks that events are those of one incarnation of peer, up and
// down in turn from up, ending up if up is set and down if not.
func flaps(events []event, peer string, inc uint64, up bool) error {
	if len(events) == 0 {
		return errors.New("no event")
	}
	for i, e := range events {
		if e != (event{i%2 == 0, peer, inc}) {
			return fmt.Errorf("event %d is %v", i, e)
		}
	}
	if last := events[len(events)-1]; last.up != up {
		return fmt.Errorf("the last event is %v", last)
	}
	return nil
}

// A new incarnation of a peer that arrives before the old one was found
// silent replaces it: down for the old, up for the new, in that order.
func TestTransport_NewIncarnationReplacesOld(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	a, ra := c.start("a", slow)
	b, _ := c.start("b", slow)
	waitUp(t, a, b)
	binc := b.Incarnation()
	b.nc.Close()
	b2, _ := c.start("b", slow)
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if inc, up := a.Peer("b"); !up || inc != b2.Incarnation() {
			return fmt.Errorf("a sees b as %x up=%v", inc, up)
		}
		return nil
	})
	got := fmt.Sprint(ra.eventList())
	want := fmt.Sprint([]event{{true, "b", binc}, {false, "b", binc}, {true, "b", b2.Incarnation()}})
	if got != want {
		t.Errorf("a saw %s, want %s", got, want)
	}
}

func TestDial_RefusesBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{URLs: []string{"nats://127.0.0.1:1"}}},
		{"dot in name", Config{Name: "a.b", URLs: []string{"nats://127.0.0.1:1"}}},
		{"wildcard in name", Config{Name: "*", URLs: []string{"nats://127.0.0.1:1"}}},
		{"no url", Config{Name: "a"}},
		{"bad prefix", Config{Name: "a", Prefix: "x.>", URLs: []string{"nats://127.0.0.1:1"}}},
		{"dead before heartbeat", Config{Name: "a", URLs: []string{"nats://127.0.0.1:1"}, Heartbeat: time.Second, DeadAfter: time.Millisecond}},
		{"cert without key", Config{Name: "a", URLs: []string{"nats://127.0.0.1:1"}, CertFile: "x.pem"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if tr, err := Dial(c.cfg); err == nil {
				_ = tr.Close()
				t.Fatal("Dial accepted it")
			}
		})
	}
}

// Without a certificate the server of a cluster refuses the connection.
func TestDial_NeedsACertificate(t *testing.T) {
	c := newTestCluster(t, "a")
	cfg := c.config("a", slow)
	cfg.CertFile, cfg.KeyFile = "", ""
	if tr, err := Dial(cfg); err == nil {
		_ = tr.Close()
		t.Fatal("connected without a client certificate")
	}
}

// A node that freezes is lost by its peers; when it resumes it learns it
// was lost and reports them lost in turn, and only then do both sides let
// each other back in, as the same incarnations.
func TestTransport_FrozenPeerResumesAfterBothSidesReportedTheLoss(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	a, ra := c.start("a", Config{Heartbeat: 20 * time.Millisecond, DeadAfter: 200 * time.Millisecond})
	b, rb := c.start("b", slow) // b never loses a by its own timer
	waitUp(t, a, b)
	ai, bi := a.Incarnation(), b.Incarnation()

	b.deliverMu.Lock() // b freezes: no heartbeats out, nothing processed
	frozen := true
	defer func() {
		if frozen {
			b.deliverMu.Unlock()
		}
	}()
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if !ra.hasEvent(event{false, "b", bi}) {
			return fmt.Errorf("a saw %v", ra.eventList())
		}
		return nil
	})
	if err := a.Send("b", sendFrame(1, "x")); !errors.Is(err, wire.ErrNoConnection) {
		t.Errorf("send to the frozen node: %v", err)
	}
	frozen = false
	b.deliverMu.Unlock() // b resumes

	waitUp(t, a, b)
	// Each saw the other up, lost, and up again, as the same incarnation.
	// A stall of a over the 200 ms of DeadAfter before the freeze (a
	// loaded machine, the race detector) adds a loss and return of its
	// own: more down-up pairs are no error.
	if got := ra.eventList(); len(got) < 3 || flaps(got, "b", bi, true) != nil {
		t.Errorf("a saw %v, want up %x, down and up again in turn", got, bi)
	}
	if got := rb.eventList(); len(got) < 3 || flaps(got, "a", ai, true) != nil {
		t.Errorf("b saw %v, want up %x, down and up again in turn", got, ai)
	}
	if st := a.Stats(); st.DropsStale == 0 {
		t.Errorf("a dropped nothing from the lost incarnation: %+v", st)
	}
	// and frames flow again
	if err := a.Send("b", sendFrame(1, "again")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if len(rb.received("a")) != 1 {
			return fmt.Errorf("b received %d frames", len(rb.received("a")))
		}
		return nil
	})
}

// A *tls.Config works as well as the three files.
func TestDial_WithTLSConfig(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	a, _ := c.start("a", slow)
	cert, key, _ := c.certs.Node("b")
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(c.certs.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	b, err := Dial(Config{Name: "b", URLs: []string{c.srv.URL()}, DeadAfter: time.Hour,
		TLS: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Start(newRecorder()); err != nil {
		t.Fatal(err)
	}
	waitUp(t, a, b)
}

// When a node falls behind by more than its pending limit, whatever NATS
// drops is counted, not silent.
func TestTransport_CountsWhatNATSDrops(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	tune := slow
	tune.PendingBytes = 64 << 10
	a, _ := c.start("a", tune)
	b, _ := c.start("b", slow)
	waitUp(t, a, b)
	evil := c.hostile("b") // ignores a's window

	// Well-formed batches, so that a's subscriber decodes the first and
	// then waits for the lock while the rest pile up.
	msg := batchMsg(t, b.Incarnation(), a.Incarnation(), 1, sendFrame(1, string(make([]byte, 8<<10))))
	a.deliverMu.Lock() // a stops processing
	locked := true
	defer func() {
		if locked {
			a.deliverMu.Unlock()
		}
	}()
	for i := 0; i < 64; i++ {
		if err := evil.nc.Publish("cloister.f.a.b", msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := evil.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if a.st.slowConsumerErrors.Load() == 0 {
			return errors.New("no slow-consumer error yet")
		}
		return nil
	})
	locked = false
	a.deliverMu.Unlock()
	st := a.Stats()
	if st.DropsSlowConsumer == 0 {
		t.Errorf("nothing counted as dropped: %+v", st)
	}
}

// A node cannot take another node's name: the server refuses it the
// subjects of that name, and Start says so.
func TestStart_RefusesAnotherNodesName(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	cfg := c.config("b", slow)
	cfg.Name = "a"
	tr, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	err = tr.Start(newRecorder())
	if !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("Start as a with b's certificate: %v, want a permissions violation", err)
	}
}
