package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/cluster/wire"
	"github.com/cloister-rt/cloister/internal/testkit"
)

// borrower is a wire.Borrower: it copies what it keeps of each frame, and
// notes the frames it was lent.
type borrower struct {
	*recorder
	mu   sync.Mutex
	lent map[*wire.Frame]int // times each frame was lent
}

func (b *borrower) BorrowsFrames() {}

func (b *borrower) Deliver(peer string, f *wire.Frame) {
	b.mu.Lock()
	b.lent[f]++
	b.mu.Unlock()
	c := *f
	if f.Env != nil {
		c.Env = &wire.Envelope{Data: bytes.Clone(f.Env.Data), Caps: append([]wire.Ref(nil), f.Env.Caps...)}
	}
	b.recorder.Deliver(peer, &c)
}

// A handler that borrows frames gets every frame, in order, with its own
// bytes, over many batches whose frames the transport reuses.
func TestTransport_LendsFramesToABorrower(t *testing.T) {
	c := newTestCluster(t, "a", "b")
	small := slow
	small.MaxBatchBytes = 1 << 10 // many batches of some 25 frames
	ta, _ := c.start("a", small)
	tb, err := Dial(c.config("b", slow))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	hb := &borrower{recorder: newRecorder(), lent: make(map[*wire.Frame]int)}
	if err := tb.Start(hb); err != nil {
		t.Fatal(err)
	}
	waitUp(t, ta, tb)

	const n = 3000
	for i := 0; i < n; i++ {
		f := &wire.Frame{Kind: wire.KindSend, To: wire.Ref{Node: "b", Path: "root/sink"}, From: "root/src", ID: uint64(i + 1),
			Env: &wire.Envelope{Data: fmt.Appendf(nil, "message %d", i)}}
		for {
			err := ta.Send("b", f)
			if err == nil {
				break
			}
			if !errors.Is(err, wire.ErrBackpressure) {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
		if got := len(hb.received("a")); got < n {
			return fmt.Errorf("b has %d frames of %d", got, n)
		}
		return nil
	})
	got := hb.received("a")
	if len(got) != n {
		t.Fatalf("b has %d frames, want %d", len(got), n)
	}
	for i, f := range got {
		if want := fmt.Sprintf("message %d", i); f.ID != uint64(i+1) || f.Env == nil || string(f.Env.Data) != want {
			t.Fatalf("frame %d: id %d, %q; want id %d, %q", i, f.ID, f.Env.Data, i+1, want)
		}
	}
	st := tb.Stats()
	hb.mu.Lock()
	distinct := len(hb.lent)
	hb.mu.Unlock()
	if st.BatchesIn > 1 && distinct >= n {
		t.Fatalf("%d frames in %d batches came in %d distinct frames: none was lent again", n, st.BatchesIn, distinct)
	}
	t.Logf("%d frames in %d batches, %d distinct frames", n, st.BatchesIn, distinct)
}
