package isolate

import (
	"log/slog"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/mailbox"
)

// acctHost is a host that accepts everything and keeps nothing, for the
// accounting tests.
type acctHost struct{}

func (acctHost) Send(*capability.Capability, *mailbox.Envelope) error { return nil }
func (acctHost) Call(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (acctHost) SendAfter(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (acctHost) StartTimer(time.Duration) (uint64, error) { return 1, nil }
func (acctHost) CancelTimer(uint64) bool                  { return true }
func (acctHost) Stop(string)                              {}
func (acctHost) Log(slog.Level, string)                   {}

type acctTarget struct{}

func (acctTarget) TargetID() uint64 { return 1 }

func acctIsolate(t *testing.T, src string, lim Limits) *Isolate {
	t.Helper()
	s, err := Compile("t.js", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	i, err := New(s, Config{Name: "t", Self: capability.New(acctTarget{}, capability.All), Limits: lim, Host: acctHost{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}
