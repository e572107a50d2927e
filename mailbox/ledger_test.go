package mailbox_test

import (
	"math/rand/v2"
	"testing"

	"github.com/cloister-rt/cloister/mailbox"
)

// TestLedger_ManySenders: whatever order senders admit and release
// messages in (one sender at a time, several interleaved, a sender that
// comes back after draining), each sender's outbox holds exactly the bytes
// it has waiting, and Close gives every sender back what was still waiting.
func TestLedger_ManySenders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		m := mailbox.New("target", mailbox.Limits{Messages: 1 << 20, Bytes: 1 << 40})
		senders := make([]*mailbox.Mailbox, 1+rng.IntN(4))
		for i := range senders {
			senders[i] = mailbox.New("sender", mailbox.Limits{OutboxBytes: 1 << 40})
		}
		type queued struct {
			from int
			size int64
		}
		var waiting []queued
		want := make([]int64, len(senders))
		for step := 0; step < 200; step++ {
			if len(waiting) > 0 && rng.IntN(2) == 0 {
				q := waiting[0] // released in the order admitted, as turns take them
				waiting = waiting[1:]
				m.Release(q.size, senders[q.from])
				want[q.from] -= q.size
			} else {
				from := rng.IntN(len(senders))
				if rng.IntN(3) == 0 {
					from = 0 // one sender most of the time
				}
				size := int64(1 + rng.IntN(100))
				if err := m.Admit(size, senders[from]); err != nil {
					t.Fatal(err)
				}
				waiting = append(waiting, queued{from, size})
				want[from] += size
			}
			for i, s := range senders {
				if got := s.OutboxBytes(); got != want[i] {
					t.Fatalf("round %d step %d: sender %d has %d bytes in its outbox, want %d", round, step, i, got, want[i])
				}
			}
		}
		m.Close()
		for i, s := range senders {
			if got := s.OutboxBytes(); got != 0 {
				t.Fatalf("round %d: after Close sender %d has %d bytes in its outbox", round, i, got)
			}
		}
	}
}

// BenchmarkMailbox_AdmitRelease: one message from the only sender, charged
// and released, as every message between two actors is.
func BenchmarkMailbox_AdmitRelease(b *testing.B) {
	m := mailbox.New("target", mailbox.Limits{})
	from := mailbox.New("sender", mailbox.Limits{})
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Admit(14, from); err != nil {
			b.Fatal(err)
		}
		m.Release(14, from)
	}
}
