package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"

	"github.com/nats-io/nats.go"
)

// hostile is a raw NATS client holding a node's valid certificate, as a
// node whose sandbox was escaped would.
type hostile struct {
	nc   *nats.Conn
	mu   sync.Mutex
	errs []string
}

func (c *testCluster) hostile(as string) *hostile {
	c.t.Helper()
	cert, key, _ := c.certs.Node(as)
	h := &hostile{}
	nc, err := nats.Connect(c.srv.URL(), nats.ClientCert(cert, key), nats.RootCAs(c.certs.CAFile),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			h.mu.Lock()
			h.errs = append(h.errs, err.Error())
			h.mu.Unlock()
		}))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	h.nc = nc
	return h
}

// waitRefused waits until the server refused op on subject.
func (h *hostile) waitRefused(t *testing.T, op, subject string) {
	t.Helper()
	want := fmt.Sprintf("Permissions Violation for %s to %q", op, subject)
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, e := range h.errs {
			if strings.Contains(e, want) {
				return nil
			}
		}
		return fmt.Errorf("no %q among %q", want, h.errs)
	})
}

func batchMsg(t *testing.T, src, dst, off uint64, frames ...*wire.Frame) []byte {
	t.Helper()
	b, err := wire.AppendBatch(appendHeader(nil, header{typ: msgBatch, src: src, dst: dst, off: off}), frames)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A node's certificate lets it read only its own frames and send only as
// itself: the server refuses the rest.
func TestHostile_CannotReadOrImpersonate(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	a, ra := c.start("a", slow)
	b, _ := c.start("b", slow)
	cc, rc := c.start("c", slow)
	waitUp(t, a, b, cc)
	evil := c.hostile("b")

	var stolen atomic.Int64
	for _, subj := range []string{"cloister.f.a.*", "cloister.f.c.a", "cloister.>", ">"} {
		if _, err := evil.nc.Subscribe(subj, func(*nats.Msg) { stolen.Add(1) }); err != nil {
			t.Fatal(err)
		}
		evil.waitRefused(t, "Subscription", subj)
	}

	// forged frames: to c as a, a leaving heartbeat as a, a frame to a as c
	forged := batchMsg(t, a.Incarnation(), cc.Incarnation(), 100, &wire.Frame{Kind: wire.KindKill, To: wire.Ref{Node: "c", Path: "root"}, From: "root", ID: 666})
	spoofs := []struct {
		subject string
		data    []byte
	}{
		{"cloister.f.c.a", forged},
		{"cloister.hb.a", appendHeartbeat(nil, a.Incarnation(), true)},
		{"cloister.f.a.c", batchMsg(t, cc.Incarnation(), a.Incarnation(), 100, &wire.Frame{Kind: wire.KindKill, ID: 666})},
	}
	for _, s := range spoofs {
		if err := evil.nc.Publish(s.subject, s.data); err != nil {
			t.Fatal(err)
		}
		evil.waitRefused(t, "Publish", s.subject)
	}

	// the real a and c still talk, and nothing forged got through
	if err := a.Send("c", sendFrame(1, "marker")); err != nil {
		t.Fatal(err)
	}
	if err := cc.Send("a", sendFrame(1, "marker")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if len(rc.received("a")) == 0 || len(ra.received("c")) == 0 {
			return errors.New("markers not there yet")
		}
		return nil
	})
	for _, got := range [][]*wire.Frame{rc.received("a"), ra.received("c")} {
		if len(got) != 1 || got[0].ID != 1 || string(got[0].Env.Data) != "marker" {
			t.Errorf("received %d frames; first %+v", len(got), got[0])
		}
	}
	if inc, up := cc.Peer("a"); !up || inc != a.Incarnation() {
		t.Error("c lost a to a forged leaving heartbeat")
	}
	if n := len(rc.eventList()); n != 2 {
		t.Errorf("c saw %v", rc.eventList())
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the hostile client read %d messages", n)
	}
}

// Whatever bytes a peer publishes on its own subjects, the receiver drops
// what does not decode, counts it, and carries on.
func TestHostile_MalformedInputIsDroppedAndCounted(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	a, ra := c.start("a", slow)
	b, _ := c.start("b", slow)
	waitUp(t, a, b)
	evil := c.hostile("b")
	ai, bi := a.Incarnation(), b.Incarnation()

	huge := append(appendHeader(nil, header{typ: msgBatch, src: bi, dst: ai, off: 1}), wire.BatchVersion)
	huge = append(huge, bytes.Repeat([]byte{0xff}, 4<<20)...)
	badFrame := append(appendHeader(nil, header{typ: msgBatch, src: bi, dst: ai, off: 1}), wire.BatchVersion, 14, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x7f)
	newIncGarbage := append(appendHeader(nil, header{typ: msgBatch, src: bi + 1, dst: ai, off: 1}), 1, 2, 3)
	frameSubject := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("hello, a")},
		{"short header", []byte{msgBatch, 1, 2, 3}},
		{"ack of the wrong size", []byte{msgAck, 1}},
		{"header without a batch", appendHeader(nil, header{typ: msgBatch, src: bi, dst: ai, off: 1})},
		{"unknown batch version", append(appendHeader(nil, header{typ: msgBatch, src: bi, dst: ai, off: 1}), 9, 1, 1)},
		{"frame claiming 254 MiB of data", badFrame},
		{"4 MiB of junk", huge},
		{"garbage claiming a new incarnation", newIncGarbage},
	}
	for _, m := range frameSubject {
		if err := evil.nc.Publish("cloister.f.a.b", m.data); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	if err := evil.nc.Publish("cloister.hb.b", []byte{msgHeartbeat, 0, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	// over the server's max_payload: refused by the client library before
	// it leaves
	if err := evil.nc.Publish("cloister.f.a.b", make([]byte, DefaultMaxPayload+1)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("publish over max_payload: %v, want ErrMaxPayload", err)
	}
	want := uint64(len(frameSubject) + 1)
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := a.Stats().DropsMalformed; got != want {
			return fmt.Errorf("DropsMalformed = %d, want %d", got, want)
		}
		return nil
	})

	// a still serves b, as the same incarnation
	if err := b.Send("a", sendFrame(1, "still here")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if len(ra.received("b")) == 0 {
			return errors.New("no frame from b")
		}
		return nil
	})
	if got := ra.received("b"); len(got) != 1 || string(got[0].Env.Data) != "still here" {
		t.Errorf("a received %d frames from b", len(got))
	}
	if got := ra.eventList(); len(got) != 1 || got[0] != (event{true, "b", bi}) {
		t.Errorf("a saw %v", got)
	}
	if st := a.Stats(); st.FramesIn != 1 || st.DropsStale != 0 {
		t.Errorf("a: %+v", st)
	}
}
