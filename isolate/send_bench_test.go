package isolate_test

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cloister-rt/cloister/capability"
	"github.com/cloister-rt/cloister/isolate"
	"github.com/cloister-rt/cloister/mailbox"
)

// countingHost takes every message and keeps none, as a fast peer would.
type countingHost struct{ sent int }

func (h *countingHost) Send(*capability.Capability, *mailbox.Envelope) error { h.sent++; return nil }
func (h *countingHost) Call(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (h *countingHost) SendAfter(*capability.Capability, *mailbox.Envelope, time.Duration) (uint64, error) {
	return 1, nil
}
func (h *countingHost) StartTimer(time.Duration) (uint64, error) { return 1, nil }
func (h *countingHost) CancelTimer(uint64) bool                  { return true }
func (h *countingHost) Stop(string)                              {}
func (h *countingHost) Log(slog.Level, string)                   {}

func benchIsolate(b *testing.B, src string) (*isolate.Isolate, *countingHost) {
	s, err := isolate.Compile("bench.js", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	h := &countingHost{}
	iso, err := isolate.New(s, isolate.Config{
		Name: "bench", Self: capability.New(target{1}, capability.All), Host: h,
		Env: []isolate.Grant{{Name: "peer", Cap: capability.New(target{2}, capability.Send)}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(iso.Close)
	return iso, h
}

// BenchmarkSendJS is the sender's side of BenchmarkThroughputJS (package
// internal/bench) without a receiver: 100 ctx.env.peer.send of
// {type: "inc", by: 1} per turn, through the host call, the encoder and
// the envelope. One op is one turn; ns/msg is per send.
func BenchmarkSendJS(b *testing.B) {
	iso, h := benchIsolate(b, `const m = {type: "inc", by: 1};
export function receive(msg, ctx) { for (let i = 0; i < 100; i++) ctx.env.peer.send(m); }`)
	msg := mailbox.NewEnvelope([]byte{0xc0}, nil) // null
	b.ReportAllocs()
	turns := 0
	for b.Loop() {
		var crash error = errNoOutcome
		iso.Receive(msg, false, func(o isolate.Outcome) { crash = o.Crash })
		if crash != nil {
			b.Fatal(crash)
		}
		turns++
	}
	if h.sent != turns*100 {
		b.Fatalf("%d messages sent in %d turns", h.sent, turns)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(h.sent), "ns/msg")
}

// BenchmarkReceiveJS is the receiver's side: one turn per message
// {type: "inc", by: 1}, decoded and read by the script.
func BenchmarkReceiveJS(b *testing.B) {
	iso, _ := benchIsolate(b, `let count = 0;
export function receive(msg) { if (msg.type === "inc") count += msg.by; }`)
	msg := mailbox.NewEnvelope([]byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0xa3, 'i', 'n', 'c', 0xa2, 'b', 'y', 0x01}, nil)
	b.ReportAllocs()
	for b.Loop() {
		var crash error = errNoOutcome
		iso.Receive(msg, false, func(o isolate.Outcome) { crash = o.Crash })
		if crash != nil {
			b.Fatal(crash)
		}
	}
}

var errNoOutcome = errors.New("the turn did not finish")
