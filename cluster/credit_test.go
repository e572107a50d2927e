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

// countCredit counts what tracked frames gave back.
type countCredit struct{ bytes, calls atomic.Int64 }

func (c *countCredit) Credit(n int64) {
	c.bytes.Add(n)
	c.calls.Add(1)
}

// A tracked frame holds its credit until the receiver has taken it: not
// while the receiver holds the sender back, at once when it releases it,
// and once only.
func TestTransport_TrackedFramesGiveCreditBackOnceTaken(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	tune := Config{Heartbeat: 50 * time.Millisecond, DeadAfter: time.Hour}
	a, b, rb := c.startHolding(t, tune)

	var cr countCredit
	const frames = 20
	for i := 1; i <= frames; i++ {
		if err := a.SendTracked("b", sendFrame(uint64(i), "tracked"), &cr, 10); err != nil {
			t.Fatal(err)
		}
	}
	// b has handled them all, and told a several times it holds them.
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got, holds := len(rb.received("a")), a.Stats().HoldsIn; got != frames || holds < 3 {
			return fmt.Errorf("b received %d of %d frames; a heard %d hold notices", got, frames, holds)
		}
		return nil
	})
	if n := cr.calls.Load(); n != 0 {
		t.Fatalf("%d credits came back while b held a back", n)
	}
	rb.hold.Store(false)
	b.Release("a")
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if n, calls := cr.bytes.Load(), cr.calls.Load(); n != 10*frames || calls != frames {
			return fmt.Errorf("%d bytes in %d credits back, want %d in %d", n, calls, 10*frames, frames)
		}
		return nil
	})
	// An untracked frame and a refused one hold nothing.
	if err := a.Send("b", sendFrame(frames+1, "untracked")); err != nil {
		t.Fatal(err)
	}
	if err := a.SendTracked("nobody", sendFrame(1, "x"), &cr, 10); !errors.Is(err, wire.ErrNoConnection) {
		t.Fatalf("SendTracked to an unknown node: %v", err)
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got != frames+1 {
			return fmt.Errorf("b received %d of %d frames", got, frames+1)
		}
		return nil
	})
	if calls := cr.calls.Load(); calls != frames {
		t.Fatalf("%d credits back, want %d", calls, frames)
	}
}

// Credits of frames a peer will never acknowledge come back: when the
// peer is lost, and when the transport closes.
func TestTransport_CreditsComeBackWhenAPeerIsLostOrTheTransportCloses(t *testing.T) {
	c := newTestCluster(t, "a", "b", "c")
	tune := Config{Heartbeat: 50 * time.Millisecond, DeadAfter: time.Hour}
	a, _ := c.start("a", tune)
	hold := func(name string) (*Transport, *holdingRecorder) {
		tr, err := Dial(c.config(name, tune))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		rec := &holdingRecorder{recorder: newRecorder(), peer: "a"}
		rec.hold.Store(true)
		if err := tr.Start(rec); err != nil {
			t.Fatal(err)
		}
		return tr, rec
	}
	b, rb := hold("b")
	cc, _ := hold("c")
	waitUp(t, a, b, cc)

	var toB, toC countCredit
	for i := 1; i <= 5; i++ {
		if err := a.SendTracked("b", sendFrame(uint64(i), "to b"), &toB, 7); err != nil {
			t.Fatal(err)
		}
		if err := a.SendTracked("c", sendFrame(uint64(i), "to c"), &toC, 3); err != nil {
			t.Fatal(err)
		}
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(rb.received("a")); got != 5 {
			return fmt.Errorf("b received %d of 5 frames", got)
		}
		return nil
	})
	// b leaves holding them: a loses b, and the credits come back.
	_ = b.Close()
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if n := toB.bytes.Load(); n != 35 || toB.calls.Load() != 5 {
			return fmt.Errorf("%d bytes back of the frames to the lost b, want 35", n)
		}
		return nil
	})
	if n := toC.calls.Load(); n != 0 {
		t.Fatalf("%d credits of the frames to c, still held, came back", n)
	}
	_ = a.Close()
	if n := toC.bytes.Load(); n != 15 || toC.calls.Load() != 5 {
		t.Fatalf("%d bytes back of the frames to c after a closed, want 15", n)
	}
}

// A live peer that acknowledges nothing (its acks lost, or a hostile
// node) does not keep its senders' credits: when the window has stayed
// full past DeadAfter it is reset, and the credits of what was in it come
// back with it.
func TestTransport_CreditsComeBackWhenAWindowIsReset(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	tune := Config{Heartbeat: 20 * time.Millisecond, DeadAfter: time.Second, Window: 1 << 10}
	a, ra := c.start("a", tune)
	// b beats, and never acknowledges a frame.
	b := c.hostile("b")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		hb := appendHeartbeat(nil, 99, false)
		for {
			_ = b.nc.Publish("cloister.hb.b", hb)
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if _, up := a.Peer("b"); !up {
			return errors.New("a does not see b up")
		}
		return nil
	})
	var cr countCredit
	const frames = 40 // some 3 KiB: three windows' worth
	for i := 1; i <= frames; i++ {
		if err := a.SendTracked("b", sendFrame(uint64(i), "a payload of some length"), &cr, 1); err != nil {
			t.Fatal(err)
		}
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if n := cr.calls.Load(); n != frames {
			return fmt.Errorf("%d of %d credits back", n, frames)
		}
		return nil
	})
	lost := false
	for _, e := range ra.eventList() {
		lost = lost || !e.up
	}
	if st := a.Stats(); !lost && st.WindowResets == 0 {
		t.Fatalf("the credits came back with neither a window reset nor b's loss: %+v", st)
	}
	if n := cr.bytes.Load(); n != frames {
		t.Fatalf("%d bytes back, want %d", n, frames)
	}
}
