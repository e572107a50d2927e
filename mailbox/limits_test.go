package mailbox_test

import (
	"testing"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

func TestLimits_WithDefaults(t *testing.T) {
	node := mailbox.Limits{Messages: 50, Overflow: mailbox.DropOldest}
	got := mailbox.Limits{Bytes: 1024}.WithDefaults(node)
	want := mailbox.Limits{Messages: 50, Bytes: 1024, Overflow: mailbox.DropOldest, OutboxBytes: mailbox.DefaultOutboxBytes}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := (mailbox.Limits{}).WithDefaults(mailbox.Limits{}); got.Messages != mailbox.DefaultMessages || got.Bytes != mailbox.DefaultBytes || got.Overflow != mailbox.Reject {
		t.Fatalf("package defaults: %+v", got)
	}
}

func TestParseOverflow(t *testing.T) {
	for _, s := range []string{"reject", "drop_oldest"} {
		if o, err := mailbox.ParseOverflow(s); err != nil || string(o) != s {
			t.Errorf("ParseOverflow(%q) = %q, %v", s, o, err)
		}
	}
	if _, err := mailbox.ParseOverflow("drop_newest"); err == nil {
		t.Error("drop_newest accepted")
	}
}

func TestEnvelope_SizeCountsCapabilities(t *testing.T) {
	e := mailbox.NewEnvelope(make([]byte, 10), []*capability.Capability{nil, nil})
	if e.Size() != 10+2*16 {
		t.Fatalf("Size = %d", e.Size())
	}
}
