package cluster

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// holdingRecorder is a recorder that holds peer back while hold is set,
// as a node does while a full mailbox parks that peer's messages.
type holdingRecorder struct {
	*recorder
	peer string
	hold atomic.Bool
}

func (h *holdingRecorder) Holding(peer string) bool { return peer == h.peer && h.hold.Load() }

var _ wire.Holder = (*holdingRecorder)(nil)

func TestTransport_HeldPeerGetsBackpressureAndLosesNothing(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	// Heartbeats every 50ms and a window reset after 5s of silence: the
	// hold below lasts longer than that, so only the hold notices keep
	// a's window shut. (With 1s, a race run beside two CPU burners saw b
	// lose a during the hold.)
	tune := Config{Heartbeat: 50 * time.Millisecond, DeadAfter: 5 * time.Second, Window: 4 << 10, QueueFrames: 64}
	holds := uint64(tune.DeadAfter/tune.Heartbeat) + 10 // a notice per heartbeat: a hold past DeadAfter
	a, b, rb := c.startHolding(t, tune)

	accepted := 0
	var refusal error
	for i := 1; refusal == nil; i++ {
		if i > 1_000_000 {
			t.Fatal("a million frames accepted with the receiver holding the sender back")
		}
		if err := a.Send("b", sendFrame(uint64(i), "payload of some length to fill the window")); err != nil {
			refusal = err
			break
		}
		accepted++
	}
	if !errors.Is(refusal, wire.ErrBackpressure) {
		t.Fatalf("refusal: %v, want ErrBackpressure", refusal)
	}
	// b receives what the window let through, and keeps a's window shut
	// past DeadAfter: a hears b hold it, and sends nothing more.
	var through int
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		through = len(rb.received("a"))
		if through == 0 || a.Stats().HoldsIn < holds {
			return fmt.Errorf("b received %d frames; a heard %d hold notices", through, a.Stats().HoldsIn)
		}
		return nil
	})
	for _, e := range rb.eventList() {
		if !e.up {
			t.Fatalf("b lost a while holding it (%v): the machine is too loaded for this test's 5s dead timer", e)
		}
	}
	if got := len(rb.received("a")); got != through || got >= accepted {
		t.Fatalf("b received %d frames after %d, of %d sent: the held window let more through", got, through, accepted)
	}
	if sa, sb := a.Stats(), b.Stats(); sa.WindowResets != 0 || sb.HoldsOut == 0 || sb.AcksOut != 0 {
		t.Fatalf("a window was reopened, or acknowledged, while held: sender %+v, receiver %+v", sa, sb)
	}
	// The queue behind the shut window takes what room it has left, and
	// no more.
	for i := 0; ; i++ {
		err := a.Send("b", sendFrame(uint64(accepted+1), "payload of some length to fill the window"))
		if err == nil && i < tune.QueueFrames {
			accepted++
			continue
		}
		if !errors.Is(err, wire.ErrBackpressure) {
			t.Fatalf("send %d while held: %v, want ErrBackpressure", i, err)
		}
		break
	}

	// Released, b acknowledges at once: every accepted frame arrives, in
	// order, and the window has room again.
	rb.hold.Store(false)
	b.Release("a")
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got != accepted {
			return fmt.Errorf("%d of %d frames", got, accepted)
		}
		return nil
	})
	checkInOrder(t, rb.received("a"), accepted)
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		return a.Send("b", sendFrame(uint64(accepted+1), "after"))
	})
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got != accepted+1 {
			return fmt.Errorf("%d of %d frames", got, accepted+1)
		}
		return nil
	})
	if sa := a.Stats(); sa.DropsPeerLost != 0 || sa.DropsPublish != 0 || sa.WindowResets != 0 {
		t.Fatalf("sender stats: %+v", sa)
	}
}

// startHolding starts a, and b with a handler that holds a back from the
// start, and waits until each sees the other.
func (c *testCluster) startHolding(t *testing.T, tune Config) (a, b *Transport, rb *holdingRecorder) {
	t.Helper()
	a, _ = c.start("a", tune)
	b, err := Dial(c.config("b", tune))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	rb = &holdingRecorder{recorder: newRecorder(), peer: "a"}
	rb.hold.Store(true)
	if err := b.Start(rb); err != nil {
		t.Fatal(err)
	}
	waitUp(t, a, b)
	return a, b, rb
}
