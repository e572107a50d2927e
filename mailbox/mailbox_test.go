package mailbox_test

import (
	"errors"
	"testing"

	"github.com/cloister-rt/cloister/mailbox"
)

func TestMailbox_Admit(t *testing.T) {
	tests := []struct {
		name   string
		lim    mailbox.Limits
		sizes  []int64 // admitted in turn, from a sender with a large outbox
		refuse int     // index of the first refused, -1 for none
		limit  string  // the limit that refuses
	}{
		{"within both limits", mailbox.Limits{Messages: 3, Bytes: 30}, []int64{10, 10, 10}, -1, ""},
		{"one message over", mailbox.Limits{Messages: 2, Bytes: 1000}, []int64{1, 1, 1}, 2, mailbox.LimitMailbox},
		{"one byte over", mailbox.Limits{Messages: 10, Bytes: 30}, []int64{10, 10, 11}, 2, mailbox.LimitMailbox},
		{"a message larger than the mailbox", mailbox.Limits{Messages: 10, Bytes: 30}, []int64{31}, 0, mailbox.LimitMailbox},
		{"drop_oldest admits past the count", mailbox.Limits{Messages: 2, Bytes: 1000, Overflow: mailbox.DropOldest}, []int64{1, 1, 1, 1}, -1, ""},
		{"drop_oldest admits past the bytes", mailbox.Limits{Messages: 10, Bytes: 30, Overflow: mailbox.DropOldest}, []int64{20, 20}, -1, ""},
		{"drop_oldest refuses one larger than the mailbox", mailbox.Limits{Messages: 10, Bytes: 30, Overflow: mailbox.DropOldest}, []int64{31}, 0, mailbox.LimitMailbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mailbox.New("target", tt.lim)
			from := mailbox.New("sender", mailbox.Limits{OutboxBytes: 1 << 20})
			var sum int64
			for i, size := range tt.sizes {
				err := m.Admit(size, from)
				if i == tt.refuse {
					var le *mailbox.LimitError
					if !errors.As(err, &le) || !errors.Is(err, mailbox.ErrMailboxFull) || le.Limit != tt.limit || le.Name != "target" {
						t.Fatalf("message %d: Admit = %v, want a %s LimitError of target", i, err, tt.limit)
					}
					break
				}
				if err != nil {
					t.Fatalf("message %d: Admit = %v", i, err)
				}
				sum += size
			}
			if got, want := m.Bytes(), sum; got != want {
				t.Errorf("Bytes = %d, want %d", got, want)
			}
			if got, want := from.OutboxBytes(), sum; got != want {
				t.Errorf("sender's OutboxBytes = %d, want %d (a refused message is not charged)", got, want)
			}
		})
	}
}

func TestMailbox_OutboxQuota(t *testing.T) {
	a, b := mailbox.New("a", mailbox.Limits{}), mailbox.New("b", mailbox.Limits{})
	from := mailbox.New("flooder", mailbox.Limits{OutboxBytes: 100})
	if err := a.Admit(60, from); err != nil {
		t.Fatal(err)
	}
	// The quota spans every target.
	err := b.Admit(41, from)
	var le *mailbox.LimitError
	if !errors.As(err, &le) || le.Limit != mailbox.LimitOutbox || le.Name != "flooder" || le.MaxBytes != 100 {
		t.Fatalf("Admit past the quota = %v, want the flooder's outbox LimitError", err)
	}
	if err := b.Admit(40, from); err != nil {
		t.Fatalf("Admit up to the quota = %v", err)
	}
	// A turn that starts gives the bytes back.
	a.Release(60, from)
	if got, want := from.OutboxBytes(), int64(40); got != want {
		t.Errorf("OutboxBytes after a release = %d, want %d", got, want)
	}
	if err := b.Admit(60, from); err != nil {
		t.Errorf("Admit after the release = %v", err)
	}
}

func TestMailbox_ReleaseAndDrop(t *testing.T) {
	m := mailbox.New("m", mailbox.Limits{Messages: 2, Bytes: 100, Overflow: mailbox.DropOldest})
	from := mailbox.New("from", mailbox.Limits{})
	for range 3 {
		if err := m.Admit(10, from); err != nil {
			t.Fatal(err)
		}
	}
	m.AddNotice()
	if !m.Over() || m.Len() != 4 {
		t.Fatalf("Over = %v, Len = %d; want over with 4", m.Over(), m.Len())
	}
	m.Drop(10, from)
	m.Drop(10, from)
	if m.Over() || m.Len() != 2 || m.Bytes() != 10 || m.Dropped() != 2 || from.OutboxBytes() != 10 {
		t.Fatalf("after two drops: over %v, len %d, bytes %d, dropped %d, outbox %d", m.Over(), m.Len(), m.Bytes(), m.Dropped(), from.OutboxBytes())
	}
	m.Release(0, nil) // the notice's turn
	m.Release(10, from)
	if m.Len() != 0 || m.Bytes() != 0 || from.OutboxBytes() != 0 {
		t.Fatalf("after the releases: len %d, bytes %d, outbox %d", m.Len(), m.Bytes(), from.OutboxBytes())
	}
}

func TestMailbox_CloseRefundsSenders(t *testing.T) {
	m := mailbox.New("m", mailbox.Limits{})
	a, b := mailbox.New("a", mailbox.Limits{}), mailbox.New("b", mailbox.Limits{})
	for _, from := range []*mailbox.Mailbox{a, a, b, nil} {
		if err := m.Admit(7, from); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	if a.OutboxBytes() != 0 || b.OutboxBytes() != 0 || m.Len() != 0 || m.Bytes() != 0 {
		t.Fatalf("after Close: outboxes %d, %d; len %d, bytes %d", a.OutboxBytes(), b.OutboxBytes(), m.Len(), m.Bytes())
	}
	if err := m.Admit(1, a); !errors.Is(err, mailbox.ErrClosed) {
		t.Fatalf("Admit after Close = %v, want ErrClosed", err)
	}
	if a.OutboxBytes() != 0 {
		t.Errorf("a refused Admit left %d bytes in the outbox", a.OutboxBytes())
	}
	m.Release(7, a) // a turn that was under way: nothing is released twice
	if a.OutboxBytes() != 0 || m.Len() != 0 {
		t.Errorf("Release after Close changed the counts: outbox %d, len %d", a.OutboxBytes(), m.Len())
	}
	m.Close()
	m.Reopen()
	if err := m.Admit(1, a); err != nil {
		t.Errorf("Admit after Reopen = %v", err)
	}
}

func TestMailbox_Defaults(t *testing.T) {
	if got, want := mailbox.New("m", mailbox.Limits{}).Limits(), (mailbox.Limits{}).WithDefaults(mailbox.Limits{}); got != want {
		t.Errorf("Limits = %+v, want %+v", got, want)
	}
}

func TestMailbox_OutboxChargedForAnotherNode(t *testing.T) {
	from := mailbox.New("flooder", mailbox.Limits{OutboxBytes: 100})
	local := mailbox.New("local", mailbox.Limits{})
	if err := from.ChargeOutbox(70); err != nil {
		t.Fatal(err)
	}
	// The quota spans messages to other nodes and local mailboxes.
	var le *mailbox.LimitError
	if err := local.Admit(31, from); !errors.As(err, &le) || le.Limit != mailbox.LimitOutbox {
		t.Fatalf("Admit past the quota with 70 bytes in flight = %v, want the outbox LimitError", err)
	}
	if err := local.Admit(30, from); err != nil {
		t.Fatal(err)
	}
	if err := from.ChargeOutbox(1); !errors.As(err, &le) || le.Limit != mailbox.LimitOutbox || le.Name != "flooder" || le.Bytes != 100 {
		t.Fatalf("ChargeOutbox past the quota = %v, want the flooder's outbox LimitError at 100 bytes", err)
	}
	from.ReturnOutbox(70)
	if got := from.OutboxBytes(); got != 30 {
		t.Fatalf("OutboxBytes = %d after the other node took the message, want 30", got)
	}
}
